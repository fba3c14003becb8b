/**
 * Push-pull anti-entropy and joining: two members swap their whole tables (and the delegate's
 * state) over a stream, so whatever gossip missed is repaired. It runs periodically with a random
 * live member, now and then with a failed one so long partitions still heal, and is how
 * `joinCluster` reaches its seeds. When `pushPullDigest` is on, the periodic exchange opens with a
 * table digest only, and the tables travel just when the digests differ.
 *
 * The period grows with the cluster: above 32 members it is multiplied by
 * `ceil(log2(n) - log2(32)) + 1` (memberlist's pushPullScale), keeping the total push-pull
 * traffic per node roughly flat as the cluster grows.
 */
import { DecodeError } from "../common/errors.ts";
import { encodeStream } from "./codec.ts";
import { tableDigest } from "./digest.ts";
import { openStream } from "./outbox.ts";
import { type JoinAttempt, type MembershipState, randomMembers, selfMember } from "./state.ts";
import type { Address, PushPullMember, PushPullMessage } from "./types.ts";
import { broadcastAlive, handleAlive, handleDead, handleSuspect } from "./updates.ts";

const SCALE_THRESHOLD = 32;

/** The push-pull period for a cluster of `memberCount` members, given the configured `base`. */
export function pushPullInterval(base: number, memberCount: number): number {
  if (memberCount <= SCALE_THRESHOLD) return base;
  const multiplier = Math.ceil(Math.log2(memberCount) - Math.log2(SCALE_THRESHOLD)) + 1;
  return base * multiplier;
}

/** The periodic exchange with one random alive member, skipped while a leave is being announced. */
export function periodicPushPull(state: MembershipState): void {
  if (state.leaveDeadline !== undefined) return;
  const [peer] = randomMembers(state, 1, (member) => member.state === "alive");
  if (peer !== undefined) startPushPull(state, peer.address, false, state.config.pushPullDigest);
}

/** Tries one random failed member again, so partitions that outlive the dead-member grace period still heal. */
export function reconnect(state: MembershipState, now: number): void {
  if (state.leaving) return;
  for (const [name, entry] of state.failed) if (now - entry.failedAt >= state.config.reconnectTimeout) state.failed.delete(name);
  if (state.failed.size === 0) return;
  const candidates = [...state.failed.values()];
  startPushPull(state, (candidates[state.random.int(candidates.length)] as { address: Address }).address, false, false);
}

function startPushPull(state: MembershipState, to: Address, join: boolean, summary: boolean): number | undefined {
  if (!join && state.pushPullsInFlight >= state.config.maxConcurrentPushPulls) return undefined;
  state.pushPullsInFlight++;
  return openStream(state, to, { purpose: "pushPull", to, summary }, encodePushPull(state, join, summary));
}

/** This node's push-pull: the whole table, or only its digest when `summary`. */
function encodePushPull(state: MembershipState, join: boolean, summary: boolean, digest = tableDigest(state.table.values())): Uint8Array {
  const members: PushPullMember[] = [];
  if (!summary) {
    for (const member of state.table.values()) {
      members.push({ name: member.name, address: member.address, meta: member.meta, incarnation: member.incarnation, state: member.state });
    }
  }
  const userState = state.delegate?.localState(join) ?? new Uint8Array();
  return encodeStream({ type: "pushPull", join, members, userState, digest });
}

/** Rejects a push-pull whose members break this node's limits, before anything is merged. */
export function checkPushPull(state: MembershipState, message: PushPullMessage): void {
  for (const member of message.members) {
    if (member.meta.length > state.config.metaMaxBytes) {
      throw new DecodeError(`push-pull member ${member.name.slice(0, 64)} has ${member.meta.length} bytes of metadata, over ${state.config.metaMaxBytes}`, { member: member.name.slice(0, 64) });
    }
  }
}

/** Answers a peer's (checked) push-pull with this node's own, then merges the peer's. */
export function answerPushPull(state: MembershipState, message: PushPullMessage, now: number): Uint8Array {
  // A summary from a peer that already agrees gets a summary back; anything else, the whole table.
  const digest = tableDigest(state.table.values());
  const agree = message.members.length === 0 && message.digest === digest;
  const reply = encodePushPull(state, message.join, agree, digest);
  mergePushPull(state, message, now);
  return reply;
}

/**
 * Finishes push-pull stream `id` this node opened to `to`: merges the (checked) reply, undefined
 * when the stream failed or answered nonsense, and counts it toward a join in progress.
 */
export function completePushPull(state: MembershipState, id: number, to: Address, summary: boolean, message: PushPullMessage | undefined, now: number): void {
  if (message !== undefined) {
    mergePushPull(state, message, now);
    // The summary showed the tables differ: the peer has sent its table, now it gets ours.
    if (summary && message.members.length > 0) startPushPull(state, to, false, false);
  }
  if (state.join?.pending.delete(id)) {
    if (message !== undefined) {
      state.join.contacted++;
      // The seed gossips this node's arrival, but the newcomer now knows members too: announcing
      // itself as well adds a source of the news, so it reaches everyone sooner.
      if (state.join.contacted === 1) broadcastAlive(state, selfMember(state));
    }
    finishJoinAttempt(state, now);
  }
}

function mergePushPull(state: MembershipState, message: PushPullMessage, now: number): void {
  for (const remote of message.members) {
    switch (remote.state) {
      case "alive":
        handleAlive(state, { type: "alive", name: remote.name, incarnation: remote.incarnation, address: remote.address, meta: remote.meta }, now);
        break;
      case "left":
        handleDead(state, { type: "dead", name: remote.name, incarnation: remote.incarnation, from: remote.name }, now);
        break;
      default:
        // A peer's verdict of death is only its view: suspect instead, so the member can still refute.
        handleSuspect(state, { type: "suspect", name: remote.name, incarnation: remote.incarnation, from: state.config.name }, now);
    }
  }
  if (state.delegate !== undefined && message.userState.length > 0) state.delegate.mergeRemoteState(message.userState, message.join);
}

/** One round of the join in progress: a push-pull with every seed. */
export function attemptJoin(state: MembershipState, now: number): void {
  const join = state.join as JoinAttempt;
  join.attempt++;
  join.retryAt = undefined;
  join.contacted = 0;
  for (const seed of join.seeds) {
    const id = startPushPull(state, seed, true, false);
    if (id !== undefined) join.pending.add(id);
  }
  finishJoinAttempt(state, now);
}

function finishJoinAttempt(state: MembershipState, now: number): void {
  const join = state.join as JoinAttempt;
  if (join.pending.size > 0) return;
  if (join.contacted > 0) {
    state.join = undefined;
    state.out.events.push({ type: "joinComplete", contacted: join.contacted });
  } else if (join.attempt >= state.config.joinMaxAttempts) {
    state.join = undefined;
    state.out.events.push({ type: "joinFailed", attempts: join.attempt });
  } else {
    join.retryAt = now + state.config.joinRetryInterval;
  }
}
