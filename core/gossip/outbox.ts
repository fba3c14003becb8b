/**
 * Everything leaving a membership core goes through here into `state.out`, which `ready()`
 * drains: packets (each topped up with queued broadcasts), the periodic gossip round, streams
 * for the shell to open, and member events.
 */
import { PACKET_OVERHEAD, USER_MESSAGE_OVERHEAD, assemblePacket, encodeMessage } from "./codec.ts";
import type { MembershipState, PendingStream } from "./state.ts";
import type { Address, Member, MemberChange, MemberName } from "./types.ts";

/** One gossip round: queued broadcasts to `gossipNodes` random members, recently dead ones included. */
export function gossip(state: MembershipState, now: number): void {
  if (state.probeOrder.length === 0) return;
  const room = state.config.maxPacketBytes - PACKET_OVERHEAD;
  // Most rounds have nothing to say: find that out before drawing any targets.
  let messages = piggyback(state, room);
  if (messages.length === 0) return;
  for (const target of gossipTargets(state, now)) {
    if (messages.length === 0) messages = piggyback(state, room);
    if (messages.length === 0) return;
    emitPacket(state, target.address, messages);
    messages = [];
  }
}

/**
 * The next `gossipNodes` members of the shuffled member order, recently dead ones included (so
 * they can refute). Consecutive rounds walk on instead of drawing afresh, so the few rounds that
 * carry a broadcast reach different members and none is left out by chance.
 */
function gossipTargets(state: MembershipState, now: number): Member[] {
  const order = state.probeOrder;
  const targets: Member[] = [];
  for (let checked = 0; checked < order.length && targets.length < state.config.gossipNodes; checked++) {
    if (state.gossipIndex >= order.length) state.gossipIndex = 0;
    const member = state.table.get(order[state.gossipIndex++] as MemberName);
    if (member === undefined) continue;
    if (member.state === "alive" || member.state === "suspect" || now - member.stateChangedAt < state.config.gossipToTheDeadTime) targets.push(member);
  }
  return targets;
}

/** Sends `messages` with as many queued broadcasts as still fit piggybacked behind them. */
export function sendPacket(state: MembershipState, to: Address, messages: Uint8Array[]): void {
  let room = state.config.maxPacketBytes - PACKET_OVERHEAD;
  for (const message of messages) room -= message.length;
  emitPacket(state, to, [...messages, ...piggyback(state, room)]);
}

function piggyback(state: MembershipState, room: number): Uint8Array[] {
  const messages = state.broadcasts.take(0, room, state.table.size);
  if (state.delegate === undefined) return messages;
  let left = room;
  for (const message of messages) left -= message.length;
  if (left <= USER_MESSAGE_OVERHEAD) return messages;
  for (const data of state.delegate.getBroadcasts(USER_MESSAGE_OVERHEAD, left)) messages.push(encodeMessage({ type: "user", data }));
  return messages;
}

function emitPacket(state: MembershipState, to: Address, messages: Uint8Array[]): void {
  const bytes = assemblePacket(messages);
  state.counters.packetsSent++;
  state.counters.bytesSent += bytes.length;
  state.out.packets.push({ to, bytes });
}

/** Asks the shell to open a stream to `to`; its answer comes back through `streamReply` with the returned id. */
export function openStream(state: MembershipState, to: Address, pending: PendingStream, bytes: Uint8Array): number {
  const id = state.nextStreamId++;
  state.pendingStreams.set(id, pending);
  state.counters.streamsOpened++;
  state.out.streams.push({ id, to, purpose: pending.purpose, bytes });
  return id;
}

/** Reports a change to `member`, with a snapshot so later changes do not rewrite the event. */
export function emitMemberEvent(state: MembershipState, change: MemberChange, member: Member): void {
  state.out.events.push({ type: "member", change, member: { ...member } });
}
