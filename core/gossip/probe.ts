/**
 * SWIM failure detection with Lifeguard's adjustments: each probe interval one member, in a
 * shuffled round-robin order, gets a ping; without an ack by the (awareness-scaled) probe timeout,
 * `indirectChecks` others are asked to ping it and nack if they cannot, and a TCP fallback probe
 * is requested; without any ack by the end of the interval it is suspected. This node also relays
 * others' indirect pings, and turns expired suspicions into deaths.
 */
import { encodeMessage, encodeStream } from "./codec.ts";
import type { GossipConfig } from "./config.ts";
import { emitMemberEvent, openStream, sendPacket } from "./outbox.ts";
import { type MembershipState, type Probe, randomMembers } from "./state.ts";
import type { Address, IndirectPingMessage, Member, MemberName, PingMessage } from "./types.ts";
import { handleDead, handleSuspect } from "./updates.ts";

/** Pings the next member in the probe order, the suspicion riding along if it is suspect. */
export function startProbe(state: MembershipState, now: number): void {
  const target = nextProbeTarget(state, now);
  if (target === undefined) {
    state.nextProbeAt = now + state.config.probeInterval;
    return;
  }
  const seq = state.nextSeq++;
  state.counters.probes++;
  state.probe = {
    target: target.name,
    seq,
    ackDeadline: now + state.awareness.scale(state.config.probeTimeout),
    endsAt: now + state.awareness.scale(state.config.probeInterval),
    indirectSent: false,
    expectedNacks: 0,
    nacks: 0,
  };
  state.nextProbeAt = now + state.config.probeInterval;
  const ping = encodeMessage({ type: "ping", seq, target: target.name, source: state.config.name, sourceAddress: state.config.address });
  // A suspect target learns of the suspicion from the probe itself, so it can refute at once.
  const suspect = target.state === "suspect" ? [encodeMessage({ type: "suspect", name: target.name, incarnation: target.incarnation, from: state.config.name })] : [];
  sendPacket(state, target.address, [ping, ...suspect]);
}

/** Moves the probe in progress on at `now`: to indirect pings after the ack deadline, to failure at its end. */
export function advanceProbe(state: MembershipState, now: number): void {
  const probe = state.probe as Probe;
  if (!probe.indirectSent && now >= probe.ackDeadline) probeIndirectly(state, probe);
  if (now >= probe.endsAt) probeFailed(state, probe, now);
}

function probeIndirectly(state: MembershipState, probe: Probe): void {
  probe.indirectSent = true;
  const target = state.table.get(probe.target);
  if (target === undefined) return;
  const relays = randomMembers(state, state.config.indirectChecks, (member) => member.state === "alive" && member.name !== probe.target);
  for (const relay of relays) {
    const request: IndirectPingMessage = {
      type: "indirectPing",
      seq: probe.seq,
      target: target.name,
      targetAddress: target.address,
      source: state.config.name,
      sourceAddress: state.config.address,
      wantNack: true,
    };
    state.counters.indirectProbes++;
    probe.expectedNacks++;
    sendPacket(state, relay.address, [encodeMessage(request)]);
  }
  if (state.config.tcpFallbackProbe) {
    const ping: PingMessage = { type: "ping", seq: probe.seq, target: target.name, source: state.config.name, sourceAddress: state.config.address };
    openStream(state, target.address, { purpose: "probe", seq: probe.seq }, encodeStream(ping));
  }
}

function probeFailed(state: MembershipState, probe: Probe, now: number): void {
  state.probe = undefined;
  state.nextProbeAt = Math.max(state.nextProbeAt, now);
  state.counters.probesFailed++;
  // Lifeguard: relays that did not even nack suggest that this node's own network is the problem.
  state.awareness.applyDelta(probe.expectedNacks > 0 ? Math.max(0, probe.expectedNacks - probe.nacks) : 1);
  const target = state.table.get(probe.target);
  if (target === undefined || (target.state !== "alive" && target.state !== "suspect")) return;
  // Already suspected by others: this failure is an independent confirmation, gossiped like one.
  handleSuspect(state, { type: "suspect", name: target.name, incarnation: target.incarnation, from: state.config.name }, now);
}

/** Ends the probe in progress as a success (an ack by UDP, relay or TCP fallback). */
export function probeAcked(state: MembershipState, now: number): void {
  state.probe = undefined;
  state.nextProbeAt = Math.max(state.nextProbeAt, now);
  state.awareness.applyDelta(-1);
}

/** An ack for `seq`: either for this node's probe, or for a ping it relays, passed back to the requester. */
export function handleAck(state: MembershipState, seq: number, now: number): void {
  if (state.probe?.seq === seq) {
    probeAcked(state, now);
    return;
  }
  const relay = state.relays.get(seq);
  if (relay === undefined) return;
  state.relays.delete(seq);
  sendPacket(state, relay.sourceAddress, [encodeMessage({ type: "ack", seq: relay.sourceSeq })]);
}

/** A relay's nack for `seq`: it is alive but could not reach the target, which Lifeguard counts. */
export function handleNack(state: MembershipState, seq: number): void {
  if (state.probe?.seq === seq) state.probe.nacks++;
}

/** Acks a ping addressed to this node. */
export function handlePing(state: MembershipState, from: Address, ping: PingMessage): void {
  // A ping for another name reached a reused address: stay silent so the real target is suspected.
  if (ping.target !== state.config.name) return;
  sendPacket(state, from, [encodeMessage({ type: "ack", seq: ping.seq })]);
}

/** Pings the target on the requester's behalf (or acks directly when this node is the target). */
export function handleIndirectPing(state: MembershipState, request: IndirectPingMessage, now: number): void {
  if (request.target === state.config.name) {
    sendPacket(state, request.sourceAddress, [encodeMessage({ type: "ack", seq: request.seq })]);
    return;
  }
  const seq = state.nextSeq++;
  state.relays.set(seq, { sourceAddress: request.sourceAddress, sourceSeq: request.seq, wantNack: request.wantNack, deadline: now + relayTimeout(state.config) });
  const ping: PingMessage = { type: "ping", seq, target: request.target, source: state.config.name, sourceAddress: state.config.address };
  sendPacket(state, request.targetAddress, [encodeMessage(ping)]);
}

/**
 * How long a relay waits for the target before nacking. The requester gives up
 * `probeInterval - probeTimeout` after asking, so a relay that waited a whole probe timeout (as
 * memberlist's do) would nack after the verdict: the nack goes uncounted and Lifeguard blames the
 * requester's own health for every dead member it probes (the Lifeguard paper's footnote 5).
 * Four fifths of the requester's remaining wait leaves the nack time to travel back.
 */
function relayTimeout(config: GossipConfig): number {
  return Math.min(config.probeTimeout, Math.floor(0.8 * (config.probeInterval - config.probeTimeout)));
}

/** Drops relayed pings whose target never acked, nacking the requesters that asked for it. */
export function expireRelays(state: MembershipState, now: number): void {
  for (const [seq, relay] of state.relays) {
    if (relay.deadline > now) continue;
    state.relays.delete(seq);
    if (relay.wantNack) sendPacket(state, relay.sourceAddress, [encodeMessage({ type: "nack", seq: relay.sourceSeq })]);
  }
}

/**
 * Declares expired suspicions dead. A probe timeout before that, the suspect gets a last call:
 * the accusation sent straight to it, so a member that refuted (or never heard) answers directly
 * even if gossip missed this node, without delaying the verdict on a member that is really gone.
 */
export function expireSuspicions(state: MembershipState, now: number): void {
  for (const [name, suspicion] of state.suspicions) {
    const member = state.table.get(name);
    if (member?.state !== "suspect") {
      state.suspicions.delete(name);
      continue;
    }
    if (suspicion.deadline <= now) {
      state.suspicions.delete(name);
      handleDead(state, { type: "dead", name, incarnation: member.incarnation, from: state.config.name }, now);
    } else if (!suspicion.lastCalled && suspicion.deadline - state.config.probeTimeout <= now) {
      suspicion.lastCalled = true;
      sendPacket(state, member.address, [encodeMessage({ type: "suspect", name, incarnation: member.incarnation, from: state.config.name })]);
    }
  }
}

/** The next member in the shuffled round-robin that can be probed; reshuffles (and reaps) at the end. */
function nextProbeTarget(state: MembershipState, now: number): Member | undefined {
  for (let checked = 0; checked <= state.probeOrder.length; checked++) {
    if (state.probeIndex >= state.probeOrder.length) {
      resetProbeOrder(state, now);
      if (state.probeOrder.length === 0) return undefined;
    }
    const member = state.table.get(state.probeOrder[state.probeIndex++] as MemberName);
    if (member !== undefined && (member.state === "alive" || member.state === "suspect")) return member;
  }
  return undefined;
}

function resetProbeOrder(state: MembershipState, now: number): void {
  state.probeIndex = 0;
  reap(state, now);
  state.random.shuffle(state.probeOrder);
}

/** Forgets members dead or left for longer than `gossipToTheDeadTime`. */
function reap(state: MembershipState, now: number): void {
  const survivors: MemberName[] = [];
  for (const name of state.probeOrder) {
    const member = state.table.get(name);
    if (member === undefined) continue;
    const gone = member.state === "dead" || member.state === "left";
    if (gone && now - member.stateChangedAt >= state.config.gossipToTheDeadTime) {
      state.table.delete(name);
      emitMemberEvent(state, "reap", member);
      continue;
    }
    survivors.push(name);
  }
  state.probeOrder = survivors;
}
