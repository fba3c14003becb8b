/**
 * Quorum safety of demotions and removals (as Swarm checks them): taking a manager out of the
 * voters is refused when the voters left, counting only those reachable now, would not form a
 * majority of the new configuration. Without this check one command can leave a cluster that
 * cannot elect a leader or commit anything, recoverable only with `--force-new-cluster`.
 */
import { quorumSize } from "../raft/quorum.ts";

/** Why taking `target` out of `voters` would lose quorum, or undefined when it is safe. */
export function quorumLossReason(voters: readonly string[], reachable: ReadonlySet<string>, target: string): string | undefined {
  if (!voters.includes(target)) return undefined;
  const remaining = voters.filter((voter) => voter !== target);
  if (remaining.length === 0) return "it is the only manager: the cluster would have no manager left (use leave --force to dissolve it)";
  const needed = quorumSize(remaining.length);
  const up = remaining.filter((voter) => reachable.has(voter)).length;
  if (up >= needed) return undefined;
  return `the ${remaining.length} remaining manager(s) need ${needed} reachable for a quorum, but only ${up} are reachable; bring the unreachable managers back (or remove them first)`;
}
