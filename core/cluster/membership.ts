/**
 * The leader's membership reconciliation as a pure decision: given the managers the replicated
 * state lists and Raft's configuration, the one change to make next (single-server changes, one
 * at a time). Order matters: members that should go leave before new ones come, so the
 * configuration never grows past what the state asks for; a leader that should go hands
 * leadership over instead of removing itself.
 */

/** What the leader knows when it decides. */
export interface MembershipView {
  /** This node (the leader). */
  self: string;
  /** Node ids the state lists as managers. */
  managers: ReadonlySet<string>;
  voters: readonly string[];
  learners: readonly string[];
  /** Whether the leader currently reaches `node` (a hand-over only goes to a reachable voter). */
  reachable(node: string): boolean;
}

/** The next membership change. */
export type MembershipStep =
  /** This leader is no longer a manager: hand leadership to `to` first. */
  | { kind: "transferLeadership"; to: string }
  | { kind: "remove"; node: string }
  | { kind: "addLearner"; node: string }
  /** Promote the first of `candidates` that has caught up (the others may lag or be down). */
  | { kind: "promote"; candidates: string[] };

/** The change that brings Raft's configuration one step closer to the state's managers, if any. */
export function nextMembershipStep(view: MembershipView): MembershipStep | undefined {
  const { self, managers, voters, learners } = view;
  const members = [...voters, ...learners];
  const stale = members.filter((id) => !managers.has(id));
  const others = stale.filter((id) => id !== self);
  if (others.length > 0) return { kind: "remove", node: others[0] as string };
  if (stale.includes(self)) {
    const successor = voters.find((id) => id !== self && managers.has(id) && view.reachable(id));
    return successor ? { kind: "transferLeadership", to: successor } : undefined;
  }
  const missing = [...managers].find((id) => !members.includes(id));
  if (missing) return { kind: "addLearner", node: missing };
  return learners.length > 0 ? { kind: "promote", candidates: [...learners] } : undefined;
}
