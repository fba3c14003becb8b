/**
 * How alive, suspect and dead messages change the member table, whether they arrive by gossip,
 * by push-pull or from this node's own probes: incarnation numbers order them, a suspicion
 * starts its Lifeguard timer, and any accusation against this node is refuted.
 */
import { constantTimeEqual } from "../secure/hash.ts";
import { encodeMessage } from "./codec.ts";
import { sendPacket, emitMemberEvent } from "./outbox.ts";
import { type MembershipState, addToProbeOrder } from "./state.ts";
import { Suspicion, expectedConfirmations, suspicionBounds } from "./suspicion.ts";
import type { Address, AliveMessage, DeadMessage, Member, SuspectMessage } from "./types.ts";

/** Applies an alive message: a newcomer joins, a newer incarnation revives or updates a member, a claim about this node is checked. */
export function handleAlive(state: MembershipState, message: AliveMessage, now: number): void {
  if (message.meta.length > state.config.metaMaxBytes) return;
  const self = message.name === state.config.name;
  const known = state.table.get(message.name);
  if (self) {
    const me = known as Member;
    // Someone replays an older or identical view of this node: nothing to correct.
    if (message.incarnation < me.incarnation) return;
    if (message.incarnation === me.incarnation && message.address === me.address && constantTimeEqual(message.meta, me.meta)) return;
    if (me.state === "left") return;
    refute(state, me, message.incarnation);
    return;
  }
  if (known === undefined) {
    state.failed.delete(message.name);
    const member: Member = { name: message.name, address: message.address, meta: message.meta, incarnation: message.incarnation, state: "alive", stateChangedAt: now };
    state.table.set(member.name, member);
    addToProbeOrder(state, member.name);
    broadcastAlive(state, member);
    emitMemberEvent(state, "join", member);
    return;
  }
  const gone = known.state === "dead" || known.state === "left";
  if (message.incarnation <= known.incarnation) return;
  state.failed.delete(known.name);
  const changed = message.address !== known.address || !constantTimeEqual(message.meta, known.meta);
  const previous = known.state;
  known.incarnation = message.incarnation;
  known.address = message.address;
  known.meta = message.meta;
  state.suspicions.delete(known.name);
  if (previous !== "alive") {
    known.state = "alive";
    known.stateChangedAt = now;
  }
  broadcastAlive(state, known);
  if (gone) emitMemberEvent(state, "join", known);
  else if (previous === "suspect") emitMemberEvent(state, "alive", known);
  else if (changed) emitMemberEvent(state, "update", known);
}

/** Applies a suspicion: starts the suspicion timer, or counts an independent confirmation of a running one. */
export function handleSuspect(state: MembershipState, message: SuspectMessage, now: number): void {
  const member = state.table.get(message.name);
  if (member === undefined || message.incarnation < member.incarnation) return;
  if (member.name === state.config.name) {
    if (member.state !== "left") refute(state, member, message.incarnation);
    return;
  }
  const running = state.suspicions.get(member.name);
  if (running !== undefined) {
    if (running.confirm(message.from)) state.broadcasts.enqueue(member.name, encodeMessage(message));
    return;
  }
  if (member.state !== "alive") return;
  member.incarnation = message.incarnation;
  member.state = "suspect";
  member.stateChangedAt = now;
  const memberCount = state.table.size;
  const bounds = suspicionBounds(state.config.suspicionMult, state.config.suspicionMaxTimeoutMult, memberCount, state.config.probeInterval);
  state.suspicions.set(member.name, new Suspicion(message.from, expectedConfirmations(state.config.suspicionMult, memberCount), bounds, now));
  state.broadcasts.enqueue(member.name, encodeMessage(message));
  emitMemberEvent(state, "suspect", member);
}

/** Applies a death or, when a member speaks for itself, a graceful leave. */
export function handleDead(state: MembershipState, message: DeadMessage, now: number): void {
  const member = state.table.get(message.name);
  if (member === undefined || message.incarnation < member.incarnation) return;
  if (member.state === "dead" || member.state === "left") {
    // Another member's copy of a verdict this node holds. Every member that suspects the target
    // reaches the verdict on its own timer, and they all tend to at once: the broadcast only hurries
    // stragglers. So an echo, from a member that sends the verdict to `gossipNodes` others a round
    // itself, stands in for as many of this node's transmits. A leave has no such backstop.
    if (member.state === "dead" && message.incarnation === member.incarnation && message.from !== message.name) {
      state.broadcasts.heard(member.name, state.table.size, state.config.gossipNodes);
    }
    return;
  }
  const leaving = message.from === message.name;
  // Only `leave()` may mark this node as gone; any other verdict (or an old goodbye replayed) is refuted.
  if (member.name === state.config.name && !(leaving && state.leaving)) {
    refute(state, member, message.incarnation);
    return;
  }
  state.suspicions.delete(member.name);
  member.incarnation = message.incarnation;
  member.state = leaving ? "left" : "dead";
  member.stateChangedAt = now;
  state.broadcasts.enqueue(member.name, encodeMessage(message));
  if (!leaving) state.failed.set(member.name, { address: member.address, failedAt: now });
  emitMemberEvent(state, leaving ? "leave" : "dead", member);
}

/**
 * A peer sent an accusation that a newer alive message has refuted (perhaps just now, by this
 * very node): it may have missed the refutation, so send it straight back rather than let it
 * declare a healthy member dead.
 */
export function answerStaleAccusation(state: MembershipState, from: Address, message: SuspectMessage | DeadMessage): void {
  const member = state.table.get(message.name);
  if (member === undefined || member.state !== "alive" || message.incarnation >= member.incarnation) return;
  sendPacket(state, from, [encodeMessage(aliveMessage(member))]);
}

function refute(state: MembershipState, self: Member, accusedIncarnation: number): void {
  self.incarnation = Math.max(self.incarnation, accusedIncarnation) + 1;
  state.counters.refutations++;
  // Lifeguard: having to refute hints that this node is the one missing packets.
  state.awareness.applyDelta(1);
  broadcastAlive(state, self);
}

/** Queues `member`'s current alive message for gossip. */
export function broadcastAlive(state: MembershipState, member: Member): void {
  state.broadcasts.enqueue(member.name, encodeMessage(aliveMessage(member)));
}

/** The alive message that states `member` as this node knows it. */
function aliveMessage(member: Member): AliveMessage {
  return { type: "alive", name: member.name, incarnation: member.incarnation, address: member.address, meta: member.meta };
}
