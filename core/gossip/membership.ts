/**
 * SWIM membership with Lifeguard as a pure state machine, in the manner of hashicorp/memberlist
 * but with no sockets, timers or clocks inside.
 *
 * The shell drives it:
 * - `tick(now)` whenever `nextDeadline()` is reached (probe, gossip, push-pull, suspicion and
 *   ack timers all live in here and surface through that one deadline);
 * - `receive(from, bytes, now)` for every UDP packet, `receiveStream(from, bytes, now)` for
 *   every inbound stream (it returns the reply to write back), and `streamReply(id, bytes, now)`
 *   when a stream this core asked for completes or fails;
 * - `ready()` after any of these, to drain packets to send, streams to open and events.
 *
 * Failure detection: one member per probe interval, in a shuffled round-robin order, gets a ping;
 * without an ack within the probe timeout, `indirectChecks` other members are asked to ping it
 * (and to nack if they cannot reach it), and a TCP fallback probe is requested. Without any ack by
 * the end of the interval it is suspected. Suspicions spread by gossip, each independent one
 * shortening the suspicion timeout; the member refutes by raising its incarnation, or is declared
 * dead when the timeout expires.
 *
 * This class is the entry point and dispatcher; the protocol lives beside it over one shared
 * `MembershipState` (state.ts): probe.ts detects failures, updates.ts applies alive, suspect and
 * dead news, pushpull.ts runs anti-entropy and joins, outbox.ts queues what leaves the core.
 */
import { DecodeError, ShoalError } from "../common/errors.ts";
import type { Random } from "../common/random.ts";
import { decodePacket, decodeStream, encodeMessage, encodeStream } from "./codec.ts";
import { type GossipConfig, validateConfig } from "./config.ts";
import { gossip, openStream, sendPacket } from "./outbox.ts";
import { advanceProbe, expireRelays, expireSuspicions, handleAck, handleIndirectPing, handleNack, handlePing, probeAcked, startProbe } from "./probe.ts";
import { answerPushPull, attemptJoin, checkPushPull, completePushPull, periodicPushPull, pushPullInterval, reconnect } from "./pushpull.ts";
import { type MembershipState, createState, liveCount, selfMember } from "./state.ts";
import type { Address, Delegate, GossipStats, Member, MemberName, PacketMessage, Ready } from "./types.ts";
import { answerStaleAccusation, broadcastAlive, handleAlive, handleDead, handleSuspect } from "./updates.ts";

/** The membership state machine; see the module comment. */
export class Membership {
  private readonly state: MembershipState;

  /** Starts as a cluster of one at time `now`; `join` connects it to others. */
  constructor(config: GossipConfig, random: Random, now: number, delegate?: Delegate) {
    validateConfig(config);
    this.state = createState({ ...config }, random, now, delegate);
  }

  // ---- queries ----------------------------------------------------------------------------

  /** This node's name. */
  get name(): MemberName {
    return this.state.config.name;
  }

  /** A snapshot of every member this node knows, itself included, dead ones until reaped. */
  members(): Member[] {
    return [...this.state.table.values()].map((member) => ({ ...member }));
  }

  /** A snapshot of one member, or undefined when unknown (or reaped). */
  member(name: MemberName): Member | undefined {
    const member = this.state.table.get(name);
    return member === undefined ? undefined : { ...member };
  }

  /** How many members are alive or suspect (not known to be gone), this node included. */
  liveCount(): number {
    return liveCount(this.state);
  }

  /** Counters for `/metrics`. */
  stats(): GossipStats {
    return { ...this.state.counters, awareness: this.state.awareness.score, queuedBroadcasts: this.state.broadcasts.size };
  }

  /** The earliest time `tick` has work to do. */
  nextDeadline(): number {
    const state = this.state;
    let deadline = Math.min(state.nextPushPullAt, state.nextReconnectAt);
    // An idle node does not wake for gossip rounds that would find nothing to send; news queued
    // later goes out at once unless a round with news ran less than `gossipInterval` ago.
    if (this.hasGossip()) deadline = Math.min(deadline, state.nextGossipAt);
    if (state.probe === undefined) {
      if (!state.leaving) deadline = Math.min(deadline, state.nextProbeAt);
    } else deadline = Math.min(deadline, state.probe.indirectSent ? state.probe.endsAt : state.probe.ackDeadline);
    for (const relay of state.relays.values()) deadline = Math.min(deadline, relay.deadline);
    for (const suspicion of state.suspicions.values()) {
      deadline = Math.min(deadline, suspicion.lastCalled ? suspicion.deadline : suspicion.deadline - state.config.probeTimeout);
    }
    if (state.join?.retryAt !== undefined) deadline = Math.min(deadline, state.join.retryAt);
    if (state.leaveDeadline !== undefined) deadline = Math.min(deadline, state.leaveDeadline);
    return deadline;
  }

  /** True when a gossip round may have something to send. */
  private hasGossip(): boolean {
    if (this.state.broadcasts.size > 0) return true;
    return this.state.delegate !== undefined && (this.state.delegate.hasBroadcasts?.() ?? true);
  }

  /** Drains what the shell must do: packets to send, streams to open, events to report. */
  ready(): Ready {
    const batch = this.state.out;
    this.state.out = { packets: [], streams: [], events: [] };
    return batch;
  }

  // ---- commands -----------------------------------------------------------------------------

  /**
   * Joins a cluster through any of `seeds` (addresses): a push-pull with each, retried every
   * `joinRetryInterval` up to `joinMaxAttempts` rounds until one answers. Reports
   * `joinComplete` or `joinFailed`.
   */
  joinCluster(seeds: readonly Address[], now: number): void {
    const others = seeds.filter((seed) => seed !== this.state.config.address);
    this.state.join = { seeds: others, attempt: 0, pending: new Set(), contacted: 0, retryAt: undefined };
    attemptJoin(this.state, now);
  }

  /**
   * Leaves gracefully: announces it, keeps gossiping until the announcement has been sent its
   * full retransmit count (or `leavePropagateTimeout` passes), then reports `leaveComplete`.
   */
  leave(now: number): void {
    const state = this.state;
    const self = selfMember(state);
    if (self.state === "left") return;
    state.leaving = true;
    state.probe = undefined;
    handleDead(state, { type: "dead", name: self.name, incarnation: self.incarnation, from: self.name }, now);
    // Alone, there is nobody to tell.
    state.leaveDeadline = liveCount(state) === 1 ? now : now + state.config.leavePropagateTimeout;
  }

  /** Replaces this node's metadata and gossips it; refuses metadata over `metaMaxBytes`. */
  updateMeta(meta: Uint8Array, now: number): void {
    const config = this.state.config;
    if (meta.length > config.metaMaxBytes) {
      throw new ShoalError("meta_too_large", `member metadata of ${meta.length} bytes exceeds metaMaxBytes ${config.metaMaxBytes}`, { bytes: meta.length });
    }
    const self = selfMember(this.state);
    config.meta = meta;
    self.meta = meta;
    self.incarnation++;
    self.stateChangedAt = now;
    broadcastAlive(this.state, self);
  }

  /** Sends an application message to `name` over UDP, best effort. Returns false when `name` is unknown. */
  sendUser(name: MemberName, data: Uint8Array): boolean {
    const member = this.state.table.get(name);
    if (member === undefined) return false;
    sendPacket(this.state, member.address, [encodeMessage({ type: "user", data })]);
    return true;
  }

  /** Sends an application message to `name` over a stream (reliable). Returns false when `name` is unknown. */
  sendUserReliable(name: MemberName, data: Uint8Array): boolean {
    const member = this.state.table.get(name);
    if (member === undefined) return false;
    openStream(this.state, member.address, { purpose: "user" }, encodeStream({ type: "user", data }));
    return true;
  }

  // ---- inputs -------------------------------------------------------------------------------

  /** Runs every timer due at `now`. */
  tick(now: number): void {
    const state = this.state;
    if (state.probe !== undefined) advanceProbe(state, now);
    else if (now >= state.nextProbeAt && !state.leaving) startProbe(state, now);
    expireRelays(state, now);
    expireSuspicions(state, now);
    // A round with nothing to send does not count: the interval runs from the last round that
    // had news, so news reaching an idle node leaves at once instead of waiting out a timer phase.
    if (now >= state.nextGossipAt && this.hasGossip()) {
      state.nextGossipAt = now + state.config.gossipInterval;
      gossip(state, now);
    }
    if (now >= state.nextPushPullAt) {
      state.nextPushPullAt = now + pushPullInterval(state.config.pushPullInterval, state.table.size);
      periodicPushPull(state);
    }
    if (now >= state.nextReconnectAt) {
      state.nextReconnectAt = now + state.config.reconnectInterval;
      reconnect(state, now);
    }
    if (state.join?.retryAt !== undefined && now >= state.join.retryAt) attemptJoin(state, now);
    if (state.leaveDeadline !== undefined && (now >= state.leaveDeadline || !state.broadcasts.has(state.config.name))) {
      state.leaveDeadline = undefined;
      state.out.events.push({ type: "leaveComplete" });
    }
  }

  /**
   * Handles one UDP packet from `from`. A malformed packet throws `DecodeError` before any
   * state changes (the shell counts it and drops it).
   */
  receive(from: Address, bytes: Uint8Array, now: number): void {
    const messages = decodePacket(bytes);
    this.state.counters.packetsReceived++;
    this.state.counters.bytesReceived += bytes.length;
    for (const message of messages) this.handle(from, message, now);
  }

  /**
   * Handles one inbound stream and returns the reply to write back (or undefined for none).
   * A malformed payload throws `DecodeError` before any state changes.
   */
  receiveStream(from: Address, bytes: Uint8Array, now: number): Uint8Array | undefined {
    const state = this.state;
    const message = decodeStream(bytes, state.config.maxStreamBytes);
    switch (message.type) {
      case "pushPull":
        checkPushPull(state, message);
        return answerPushPull(state, message, now);
      case "ping":
        return message.target === state.config.name ? encodeStream({ type: "ack", seq: message.seq }) : undefined;
      case "user":
        state.delegate?.notifyMsg(message.data);
        return undefined;
      case "ack":
        return undefined;
    }
  }

  /** Completes a stream requested in `ready().streams`: `reply` is the peer's answer, undefined on failure. */
  streamReply(id: number, reply: Uint8Array | undefined, now: number): void {
    const state = this.state;
    const pending = state.pendingStreams.get(id);
    if (pending === undefined) return;
    state.pendingStreams.delete(id);
    if (pending.purpose === "pushPull") state.pushPullsInFlight--;
    let message;
    try {
      message = reply === undefined ? undefined : decodeStream(reply, state.config.maxStreamBytes);
      if (message?.type === "pushPull") checkPushPull(state, message);
    } catch (error) {
      if (!(error instanceof DecodeError)) throw error;
      message = undefined;
    }
    switch (pending.purpose) {
      case "pushPull":
        completePushPull(state, id, pending.to, pending.summary, message?.type === "pushPull" ? message : undefined, now);
        return;
      case "probe":
        if (message?.type === "ack" && message.seq === pending.seq && state.probe?.seq === pending.seq) probeAcked(state, now);
        return;
      case "user":
        return;
    }
  }

  private handle(from: Address, message: PacketMessage, now: number): void {
    const state = this.state;
    switch (message.type) {
      case "ping":
        handlePing(state, from, message);
        return;
      case "indirectPing":
        handleIndirectPing(state, message, now);
        return;
      case "ack":
        handleAck(state, message.seq, now);
        return;
      case "nack":
        handleNack(state, message.seq);
        return;
      case "alive":
        handleAlive(state, message, now);
        return;
      case "suspect":
        handleSuspect(state, message, now);
        answerStaleAccusation(state, from, message);
        return;
      case "dead":
        handleDead(state, message, now);
        answerStaleAccusation(state, from, message);
        return;
      case "user":
        state.delegate?.notifyMsg(message.data);
        return;
    }
  }
}
