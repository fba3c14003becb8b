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
 */
import { DecodeError, ShoalError } from "../common/errors.ts";
import type { Random } from "../common/random.ts";
import { Awareness } from "./awareness.ts";
import { BroadcastQueue } from "./broadcast.ts";
import { PACKET_OVERHEAD, USER_MESSAGE_OVERHEAD, assemblePacket, decodePacket, decodeStream, encodeMessage, encodeStream } from "./codec.ts";
import { type GossipConfig, validateConfig } from "./config.ts";
import { tableDigest } from "./digest.ts";
import { pushPullInterval } from "./pushpull.ts";
import { Suspicion, expectedConfirmations, suspicionBounds } from "./suspicion.ts";
import type {
  Address,
  AliveMessage,
  DeadMessage,
  Delegate,
  GossipEvent,
  GossipStats,
  IndirectPingMessage,
  Member,
  MemberChange,
  MemberName,
  PacketMessage,
  PingMessage,
  PushPullMember,
  PushPullMessage,
  Ready,
  StreamPurpose,
  StreamRequest,
  SuspectMessage,
} from "./types.ts";

/** The probe in progress: one target, one sequence number, three moments. */
interface Probe {
  target: MemberName;
  seq: number;
  /** Until then, wait for a direct ack; after it, go indirect. */
  ackDeadline: number;
  /** End of the probe: suspect the target unless something acked. */
  endsAt: number;
  indirectSent: boolean;
  expectedNacks: number;
  nacks: number;
}

/** An indirect ping this node relays: answer `source` with its `seq` once `target` acks ours. */
interface Relay {
  sourceAddress: Address;
  sourceSeq: number;
  wantNack: boolean;
  deadline: number;
}

/** A stream this core asked the shell to open, awaiting `streamReply`. */
type PendingStream = { purpose: "pushPull"; to: Address; summary: boolean } | { purpose: "probe"; seq: number } | { purpose: "user" };

/** A `joinCluster` in progress: the current round's streams and how many seeds answered. */
interface JoinAttempt {
  seeds: Address[];
  attempt: number;
  pending: Set<number>;
  contacted: number;
  retryAt: number | undefined;
}

const NEVER = Number.POSITIVE_INFINITY;

/** The membership state machine; see the module comment. */
export class Membership {
  private readonly config: GossipConfig;
  private readonly table = new Map<MemberName, Member>();
  /** Every other member, in the shuffled order probes visit them. */
  private probeOrder: MemberName[] = [];
  private probeIndex = 0;
  private probe: Probe | undefined;
  private readonly relays = new Map<number, Relay>();
  private readonly suspicions = new Map<MemberName, Suspicion>();
  private readonly broadcasts: BroadcastQueue;
  private readonly awareness: Awareness;
  private readonly pendingStreams = new Map<number, PendingStream>();
  /** Members declared failed (not left), still worth reconnecting to; see `reconnectInterval`. */
  private readonly failed = new Map<MemberName, { address: Address; failedAt: number }>();
  private pushPullsInFlight = 0;
  private join: JoinAttempt | undefined;
  private leaving = false;
  private leaveDeadline: number | undefined;
  private nextSeq = 1;
  private nextStreamId = 1;
  private nextProbeAt: number;
  private nextGossipAt: number;
  private nextPushPullAt: number;
  private nextReconnectAt: number;
  private out: Ready = { packets: [], streams: [], events: [] };
  private readonly counters: Omit<GossipStats, "awareness" | "queuedBroadcasts"> = {
    packetsSent: 0,
    packetsReceived: 0,
    bytesSent: 0,
    bytesReceived: 0,
    streamsOpened: 0,
    probes: 0,
    probesFailed: 0,
    indirectProbes: 0,
    refutations: 0,
  };

  /** Starts as a cluster of one at time `now`; `join` connects it to others. */
  constructor(
    config: GossipConfig,
    private readonly random: Random,
    now: number,
    private readonly delegate?: Delegate,
  ) {
    validateConfig(config);
    this.config = { ...config };
    this.broadcasts = new BroadcastQueue(config.retransmitMult);
    this.awareness = new Awareness(config.awarenessMaxMultiplier);
    this.table.set(config.name, {
      name: config.name,
      address: config.address,
      meta: config.meta,
      incarnation: 1,
      state: "alive",
      stateChangedAt: now,
    });
    // Random phases, so nodes started together do not probe and gossip in lockstep.
    this.nextProbeAt = now + random.int(config.probeInterval);
    this.nextGossipAt = now + random.int(config.gossipInterval);
    this.nextPushPullAt = config.pushPullInterval > 0 ? now + random.int(config.pushPullInterval) : NEVER;
    this.nextReconnectAt = config.reconnectInterval > 0 ? now + config.reconnectInterval : NEVER;
  }

  // ---- queries ----------------------------------------------------------------------------

  /** This node's name. */
  get name(): MemberName {
    return this.config.name;
  }

  /** A snapshot of every member this node knows, itself included, dead ones until reaped. */
  members(): Member[] {
    return [...this.table.values()].map((member) => ({ ...member }));
  }

  /** A snapshot of one member, or undefined when unknown (or reaped). */
  member(name: MemberName): Member | undefined {
    const member = this.table.get(name);
    return member === undefined ? undefined : { ...member };
  }

  /** How many members are alive or suspect (not known to be gone), this node included. */
  liveCount(): number {
    let count = 0;
    for (const member of this.table.values()) if (member.state === "alive" || member.state === "suspect") count++;
    return count;
  }

  /** Counters for `/metrics`. */
  stats(): GossipStats {
    return { ...this.counters, awareness: this.awareness.score, queuedBroadcasts: this.broadcasts.size };
  }

  /** The earliest time `tick` has work to do. */
  nextDeadline(): number {
    let deadline = Math.min(this.nextPushPullAt, this.nextReconnectAt);
    // An idle node does not wake for gossip rounds that would find nothing to send; news queued
    // later goes out at once if the round is overdue, and rounds stay `gossipInterval` apart.
    if (this.hasGossip()) deadline = Math.min(deadline, this.nextGossipAt);
    if (this.probe === undefined) {
      if (!this.leaving) deadline = Math.min(deadline, this.nextProbeAt);
    } else deadline = Math.min(deadline, this.probe.indirectSent ? this.probe.endsAt : this.probe.ackDeadline);
    for (const relay of this.relays.values()) deadline = Math.min(deadline, relay.deadline);
    for (const suspicion of this.suspicions.values()) {
      deadline = Math.min(deadline, suspicion.lastCalled ? suspicion.deadline : suspicion.deadline - this.config.probeTimeout);
    }
    if (this.join?.retryAt !== undefined) deadline = Math.min(deadline, this.join.retryAt);
    if (this.leaveDeadline !== undefined) deadline = Math.min(deadline, this.leaveDeadline);
    return deadline;
  }

  /** True when a gossip round may have something to send. */
  private hasGossip(): boolean {
    if (this.broadcasts.size > 0) return true;
    return this.delegate !== undefined && (this.delegate.hasBroadcasts?.() ?? true);
  }

  /** Drains what the shell must do: packets to send, streams to open, events to report. */
  ready(): Ready {
    const batch = this.out;
    this.out = { packets: [], streams: [], events: [] };
    return batch;
  }

  // ---- commands -----------------------------------------------------------------------------

  /**
   * Joins a cluster through any of `seeds` (addresses): a push-pull with each, retried every
   * `joinRetryInterval` up to `joinMaxAttempts` rounds until one answers. Reports
   * `joinComplete` or `joinFailed`.
   */
  joinCluster(seeds: readonly Address[], now: number): void {
    const others = seeds.filter((seed) => seed !== this.config.address);
    this.join = { seeds: others, attempt: 0, pending: new Set(), contacted: 0, retryAt: undefined };
    this.attemptJoin(now);
  }

  /**
   * Leaves gracefully: announces it, keeps gossiping until the announcement has been sent its
   * full retransmit count (or `leavePropagateTimeout` passes), then reports `leaveComplete`.
   */
  leave(now: number): void {
    const self = this.self();
    if (self.state === "left") return;
    this.leaving = true;
    this.probe = undefined;
    this.handleDead({ type: "dead", name: self.name, incarnation: self.incarnation, from: self.name }, now);
    this.leaveDeadline = this.otherLiveMembers() === 0 ? now : now + this.config.leavePropagateTimeout;
  }

  /** Replaces this node's metadata and gossips it; refuses metadata over `metaMaxBytes`. */
  updateMeta(meta: Uint8Array, now: number): void {
    if (meta.length > this.config.metaMaxBytes) {
      throw new ShoalError("meta_too_large", `member metadata of ${meta.length} bytes exceeds metaMaxBytes ${this.config.metaMaxBytes}`, { bytes: meta.length });
    }
    const self = this.self();
    this.config.meta = meta;
    self.meta = meta;
    self.incarnation++;
    self.stateChangedAt = now;
    this.broadcastAlive(self);
  }

  /** Sends an application message to `name` over UDP, best effort. Returns false when `name` is unknown. */
  sendUser(name: MemberName, data: Uint8Array): boolean {
    const member = this.table.get(name);
    if (member === undefined) return false;
    this.sendPacket(member.address, [encodeMessage({ type: "user", data })]);
    return true;
  }

  /** Sends an application message to `name` over a stream (reliable). Returns false when `name` is unknown. */
  sendUserReliable(name: MemberName, data: Uint8Array): boolean {
    const member = this.table.get(name);
    if (member === undefined) return false;
    this.openStream(member.address, { purpose: "user" }, encodeStream({ type: "user", data }));
    return true;
  }

  // ---- inputs -------------------------------------------------------------------------------

  /** Runs every timer due at `now`. */
  tick(now: number): void {
    if (this.probe !== undefined) this.advanceProbe(now);
    else if (now >= this.nextProbeAt && !this.leaving) this.startProbe(now);
    this.expireRelays(now);
    this.expireSuspicions(now);
    if (now >= this.nextGossipAt) {
      this.nextGossipAt = now + this.config.gossipInterval;
      this.gossip(now);
    }
    if (now >= this.nextPushPullAt) {
      this.nextPushPullAt = now + pushPullInterval(this.config.pushPullInterval, this.table.size);
      this.periodicPushPull();
    }
    if (now >= this.nextReconnectAt) {
      this.nextReconnectAt = now + this.config.reconnectInterval;
      this.reconnect(now);
    }
    if (this.join?.retryAt !== undefined && now >= this.join.retryAt) this.attemptJoin(now);
    if (this.leaveDeadline !== undefined && (now >= this.leaveDeadline || !this.broadcasts.has(this.config.name))) {
      this.leaveDeadline = undefined;
      this.out.events.push({ type: "leaveComplete" });
    }
  }

  /**
   * Handles one UDP packet from `from`. A malformed packet throws `DecodeError` before any
   * state changes (the shell counts it and drops it).
   */
  receive(from: Address, bytes: Uint8Array, now: number): void {
    const messages = decodePacket(bytes);
    this.counters.packetsReceived++;
    this.counters.bytesReceived += bytes.length;
    for (const message of messages) this.handle(from, message, now);
  }

  /**
   * Handles one inbound stream and returns the reply to write back (or undefined for none).
   * A malformed payload throws `DecodeError` before any state changes.
   */
  receiveStream(from: Address, bytes: Uint8Array, now: number): Uint8Array | undefined {
    const message = decodeStream(bytes, this.config.maxStreamBytes);
    switch (message.type) {
      case "pushPull": {
        this.checkPushPull(message);
        // A summary from a peer that already agrees gets a summary back; anything else, the whole table.
        const agree = message.members.length === 0 && message.digest === tableDigest(this.table.values());
        const reply = this.encodePushPull(message.join, agree);
        this.mergePushPull(message, now);
        return reply;
      }
      case "ping":
        return message.target === this.config.name ? encodeStream({ type: "ack", seq: message.seq }) : undefined;
      case "user":
        this.delegate?.notifyMsg(message.data);
        return undefined;
      case "ack":
        return undefined;
    }
  }

  /** Completes a stream requested in `ready().streams`: `reply` is the peer's answer, undefined on failure. */
  streamReply(id: number, reply: Uint8Array | undefined, now: number): void {
    const pending = this.pendingStreams.get(id);
    if (pending === undefined) return;
    this.pendingStreams.delete(id);
    if (pending.purpose === "pushPull") this.pushPullsInFlight--;
    let message;
    try {
      message = reply === undefined ? undefined : decodeStream(reply, this.config.maxStreamBytes);
      if (message?.type === "pushPull") this.checkPushPull(message);
    } catch (error) {
      if (!(error instanceof DecodeError)) throw error;
      message = undefined;
    }
    switch (pending.purpose) {
      case "pushPull":
        if (message?.type === "pushPull") {
          this.mergePushPull(message, now);
          // The summary showed the tables differ: the peer has sent its table, now it gets ours.
          if (pending.summary && message.members.length > 0) this.startPushPull(pending.to, false, false);
        }
        if (this.join?.pending.delete(id)) {
          if (message?.type === "pushPull") this.join.contacted++;
          this.finishJoinAttempt(now);
        }
        return;
      case "probe":
        if (message?.type === "ack" && message.seq === pending.seq && this.probe?.seq === pending.seq) this.probeAcked(now);
        return;
      case "user":
        return;
    }
  }

  // ---- dispatch -----------------------------------------------------------------------------

  private handle(from: Address, message: PacketMessage, now: number): void {
    switch (message.type) {
      case "ping":
        this.handlePing(from, message);
        return;
      case "indirectPing":
        this.handleIndirectPing(message, now);
        return;
      case "ack":
        this.handleAck(message.seq, now);
        return;
      case "nack":
        if (this.probe?.seq === message.seq) this.probe.nacks++;
        return;
      case "alive":
        this.handleAlive(message, now);
        return;
      case "suspect":
        this.handleSuspect(message, now);
        this.answerStaleAccusation(from, message);
        return;
      case "dead":
        this.handleDead(message, now);
        this.answerStaleAccusation(from, message);
        return;
      case "user":
        this.delegate?.notifyMsg(message.data);
        return;
    }
  }

  /**
   * A peer sent an accusation that a newer alive message has refuted (perhaps just now, by this
   * very node): it may have missed the refutation, so send it straight back rather than let it
   * declare a healthy member dead.
   */
  private answerStaleAccusation(from: Address, message: SuspectMessage | DeadMessage): void {
    const member = this.table.get(message.name);
    if (member === undefined || member.state !== "alive" || message.incarnation >= member.incarnation) return;
    const alive: AliveMessage = { type: "alive", name: member.name, incarnation: member.incarnation, address: member.address, meta: member.meta };
    this.sendPacket(from, [encodeMessage(alive)]);
  }

  // ---- failure detection ----------------------------------------------------------------------

  private startProbe(now: number): void {
    const target = this.nextProbeTarget(now);
    if (target === undefined) {
      this.nextProbeAt = now + this.config.probeInterval;
      return;
    }
    const seq = this.nextSeq++;
    this.counters.probes++;
    this.probe = {
      target: target.name,
      seq,
      ackDeadline: now + this.awareness.scale(this.config.probeTimeout),
      endsAt: now + this.awareness.scale(this.config.probeInterval),
      indirectSent: false,
      expectedNacks: 0,
      nacks: 0,
    };
    this.nextProbeAt = now + this.config.probeInterval;
    const ping = encodeMessage({ type: "ping", seq, target: target.name, source: this.config.name, sourceAddress: this.config.address });
    // A suspect target learns of the suspicion from the probe itself, so it can refute at once.
    const suspect = target.state === "suspect" ? [encodeMessage({ type: "suspect", name: target.name, incarnation: target.incarnation, from: this.config.name })] : [];
    this.sendPacket(target.address, [ping, ...suspect]);
  }

  private advanceProbe(now: number): void {
    const probe = this.probe as Probe;
    if (!probe.indirectSent && now >= probe.ackDeadline) this.probeIndirectly(probe);
    if (now >= probe.endsAt) this.probeFailed(probe, now);
  }

  private probeIndirectly(probe: Probe): void {
    probe.indirectSent = true;
    const target = this.table.get(probe.target);
    if (target === undefined) return;
    const relays = this.randomMembers(this.config.indirectChecks, (member) => member.state === "alive" && member.name !== probe.target);
    for (const relay of relays) {
      const request: IndirectPingMessage = {
        type: "indirectPing",
        seq: probe.seq,
        target: target.name,
        targetAddress: target.address,
        source: this.config.name,
        sourceAddress: this.config.address,
        wantNack: true,
      };
      this.counters.indirectProbes++;
      probe.expectedNacks++;
      this.sendPacket(relay.address, [encodeMessage(request)]);
    }
    if (this.config.tcpFallbackProbe) {
      const ping: PingMessage = { type: "ping", seq: probe.seq, target: target.name, source: this.config.name, sourceAddress: this.config.address };
      this.openStream(target.address, { purpose: "probe", seq: probe.seq }, encodeStream(ping));
    }
  }

  private probeFailed(probe: Probe, now: number): void {
    this.probe = undefined;
    this.nextProbeAt = Math.max(this.nextProbeAt, now);
    this.counters.probesFailed++;
    // Lifeguard: relays that did not even nack suggest that this node's own network is the problem.
    this.awareness.applyDelta(probe.expectedNacks > 0 ? Math.max(0, probe.expectedNacks - probe.nacks) : 1);
    const target = this.table.get(probe.target);
    if (target === undefined || (target.state !== "alive" && target.state !== "suspect")) return;
    // Already suspected by others: this failure is an independent confirmation, gossiped like one.
    this.handleSuspect({ type: "suspect", name: target.name, incarnation: target.incarnation, from: this.config.name }, now);
  }

  private probeAcked(now: number): void {
    this.probe = undefined;
    this.nextProbeAt = Math.max(this.nextProbeAt, now);
    this.awareness.applyDelta(-1);
  }

  private handleAck(seq: number, now: number): void {
    if (this.probe?.seq === seq) {
      this.probeAcked(now);
      return;
    }
    const relay = this.relays.get(seq);
    if (relay === undefined) return;
    this.relays.delete(seq);
    this.sendPacket(relay.sourceAddress, [encodeMessage({ type: "ack", seq: relay.sourceSeq })]);
  }

  private handlePing(from: Address, ping: PingMessage): void {
    // A ping for another name reached a reused address: stay silent so the real target is suspected.
    if (ping.target !== this.config.name) return;
    this.sendPacket(from, [encodeMessage({ type: "ack", seq: ping.seq })]);
  }

  private handleIndirectPing(request: IndirectPingMessage, now: number): void {
    if (request.target === this.config.name) {
      this.sendPacket(request.sourceAddress, [encodeMessage({ type: "ack", seq: request.seq })]);
      return;
    }
    const seq = this.nextSeq++;
    this.relays.set(seq, { sourceAddress: request.sourceAddress, sourceSeq: request.seq, wantNack: request.wantNack, deadline: now + this.config.probeTimeout });
    const ping: PingMessage = { type: "ping", seq, target: request.target, source: this.config.name, sourceAddress: this.config.address };
    this.sendPacket(request.targetAddress, [encodeMessage(ping)]);
  }

  private expireRelays(now: number): void {
    for (const [seq, relay] of this.relays) {
      if (relay.deadline > now) continue;
      this.relays.delete(seq);
      if (relay.wantNack) this.sendPacket(relay.sourceAddress, [encodeMessage({ type: "nack", seq: relay.sourceSeq })]);
    }
  }

  /**
   * Declares expired suspicions dead. A probe timeout before that, the suspect gets a last call:
   * the accusation sent straight to it, so a member that refuted (or never heard) answers directly
   * even if gossip missed this node, without delaying the verdict on a member that is really gone.
   */
  private expireSuspicions(now: number): void {
    for (const [name, suspicion] of this.suspicions) {
      const member = this.table.get(name);
      if (member?.state !== "suspect") {
        this.suspicions.delete(name);
        continue;
      }
      if (suspicion.deadline <= now) {
        this.suspicions.delete(name);
        this.handleDead({ type: "dead", name, incarnation: member.incarnation, from: this.config.name }, now);
      } else if (!suspicion.lastCalled && suspicion.deadline - this.config.probeTimeout <= now) {
        suspicion.lastCalled = true;
        this.sendPacket(member.address, [encodeMessage({ type: "suspect", name, incarnation: member.incarnation, from: this.config.name })]);
      }
    }
  }

  /** The next member in the shuffled round-robin that can be probed; reshuffles (and reaps) at the end. */
  private nextProbeTarget(now: number): Member | undefined {
    for (let checked = 0; checked <= this.probeOrder.length; checked++) {
      if (this.probeIndex >= this.probeOrder.length) {
        this.resetProbeOrder(now);
        if (this.probeOrder.length === 0) return undefined;
      }
      const member = this.table.get(this.probeOrder[this.probeIndex++] as MemberName);
      if (member !== undefined && (member.state === "alive" || member.state === "suspect")) return member;
    }
    return undefined;
  }

  private resetProbeOrder(now: number): void {
    this.probeIndex = 0;
    this.reap(now);
    this.random.shuffle(this.probeOrder);
  }

  // ---- membership changes ---------------------------------------------------------------------

  private handleAlive(message: AliveMessage, now: number): void {
    if (message.meta.length > this.config.metaMaxBytes) return;
    const self = message.name === this.config.name;
    const known = this.table.get(message.name);
    if (self) {
      const me = known as Member;
      // Someone replays an older or identical view of this node: nothing to correct.
      if (message.incarnation < me.incarnation) return;
      if (message.incarnation === me.incarnation && message.address === me.address && sameBytes(message.meta, me.meta)) return;
      if (me.state === "left") return;
      this.refute(me, message.incarnation);
      return;
    }
    if (known === undefined) {
      this.failed.delete(message.name);
      const member: Member = { name: message.name, address: message.address, meta: message.meta, incarnation: message.incarnation, state: "alive", stateChangedAt: now };
      this.table.set(member.name, member);
      this.addToProbeOrder(member.name);
      this.broadcastAlive(member);
      this.emit("join", member);
      return;
    }
    const gone = known.state === "dead" || known.state === "left";
    if (message.incarnation <= known.incarnation) return;
    this.failed.delete(known.name);
    const changed = message.address !== known.address || !sameBytes(message.meta, known.meta);
    const previous = known.state;
    known.incarnation = message.incarnation;
    known.address = message.address;
    known.meta = message.meta;
    this.suspicions.delete(known.name);
    if (previous !== "alive") {
      known.state = "alive";
      known.stateChangedAt = now;
    }
    this.broadcastAlive(known);
    if (gone) this.emit("join", known);
    else if (previous === "suspect") this.emit("alive", known);
    else if (changed) this.emit("update", known);
  }

  private handleSuspect(message: SuspectMessage, now: number): void {
    const member = this.table.get(message.name);
    if (member === undefined || message.incarnation < member.incarnation) return;
    if (member.name === this.config.name) {
      if (member.state !== "left") this.refute(member, message.incarnation);
      return;
    }
    const running = this.suspicions.get(member.name);
    if (running !== undefined) {
      if (running.confirm(message.from)) this.broadcasts.enqueue(member.name, encodeMessage(message));
      return;
    }
    if (member.state !== "alive") return;
    member.incarnation = message.incarnation;
    member.state = "suspect";
    member.stateChangedAt = now;
    const memberCount = this.table.size;
    const bounds = suspicionBounds(this.config.suspicionMult, this.config.suspicionMaxTimeoutMult, memberCount, this.config.probeInterval);
    this.suspicions.set(member.name, new Suspicion(message.from, expectedConfirmations(this.config.suspicionMult, memberCount), bounds, now));
    this.broadcasts.enqueue(member.name, encodeMessage(message));
    this.emit("suspect", member);
  }

  private handleDead(message: DeadMessage, now: number): void {
    const member = this.table.get(message.name);
    if (member === undefined || message.incarnation < member.incarnation) return;
    if (member.state === "dead" || member.state === "left") return;
    const leaving = message.from === message.name;
    // Only `leave()` may mark this node as gone; any other verdict (or an old goodbye replayed) is refuted.
    if (member.name === this.config.name && !(leaving && this.leaving)) {
      this.refute(member, message.incarnation);
      return;
    }
    this.suspicions.delete(member.name);
    member.incarnation = message.incarnation;
    member.state = leaving ? "left" : "dead";
    member.stateChangedAt = now;
    this.broadcasts.enqueue(member.name, encodeMessage(message));
    if (!leaving) this.failed.set(member.name, { address: member.address, failedAt: now });
    this.emit(leaving ? "leave" : "dead", member);
  }

  private refute(self: Member, accusedIncarnation: number): void {
    self.incarnation = Math.max(self.incarnation, accusedIncarnation) + 1;
    this.counters.refutations++;
    // Lifeguard: having to refute hints that this node is the one missing packets.
    this.awareness.applyDelta(1);
    this.broadcastAlive(self);
  }

  private broadcastAlive(member: Member): void {
    const message: AliveMessage = { type: "alive", name: member.name, incarnation: member.incarnation, address: member.address, meta: member.meta };
    this.broadcasts.enqueue(member.name, encodeMessage(message));
  }

  private reap(now: number): void {
    const survivors: MemberName[] = [];
    for (const name of this.probeOrder) {
      const member = this.table.get(name);
      if (member === undefined) continue;
      const gone = member.state === "dead" || member.state === "left";
      if (gone && now - member.stateChangedAt >= this.config.gossipToTheDeadTime) {
        this.table.delete(name);
        this.emit("reap", member);
        continue;
      }
      survivors.push(name);
    }
    this.probeOrder = survivors;
  }

  /** Inserts at a random position so a newcomer is probed within one round, like the rest. */
  private addToProbeOrder(name: MemberName): void {
    const position = this.random.int(this.probeOrder.length + 1);
    this.probeOrder.push(name);
    const swapped = this.probeOrder[position] as MemberName;
    this.probeOrder[position] = name;
    this.probeOrder[this.probeOrder.length - 1] = swapped;
  }

  // ---- dissemination --------------------------------------------------------------------------

  private gossip(now: number): void {
    if (this.probeOrder.length === 0) return;
    const room = this.config.maxPacketBytes - PACKET_OVERHEAD;
    // Most rounds have nothing to say: find that out before drawing any targets.
    let messages = this.piggyback(room);
    if (messages.length === 0) return;
    const gossipToTheDead = this.config.gossipToTheDeadTime;
    const targets = this.randomMembers(this.config.gossipNodes, (member) =>
      member.state === "alive" || member.state === "suspect" || now - member.stateChangedAt < gossipToTheDead);
    for (const target of targets) {
      if (messages.length === 0) messages = this.piggyback(room);
      if (messages.length === 0) return;
      this.emitPacket(target.address, messages);
      messages = [];
    }
  }

  /** Sends `messages` with as many queued broadcasts as still fit piggybacked behind them. */
  private sendPacket(to: Address, messages: Uint8Array[]): void {
    let room = this.config.maxPacketBytes - PACKET_OVERHEAD;
    for (const message of messages) room -= message.length;
    this.emitPacket(to, [...messages, ...this.piggyback(room)]);
  }

  private piggyback(room: number): Uint8Array[] {
    const messages = this.broadcasts.take(0, room, this.table.size);
    if (this.delegate === undefined) return messages;
    let left = room;
    for (const message of messages) left -= message.length;
    if (left <= USER_MESSAGE_OVERHEAD) return messages;
    for (const data of this.delegate.getBroadcasts(USER_MESSAGE_OVERHEAD, left)) messages.push(encodeMessage({ type: "user", data }));
    return messages;
  }

  private emitPacket(to: Address, messages: Uint8Array[]): void {
    const bytes = assemblePacket(messages);
    this.counters.packetsSent++;
    this.counters.bytesSent += bytes.length;
    this.out.packets.push({ to, bytes });
  }

  // ---- push-pull and join -------------------------------------------------------------------

  private periodicPushPull(): void {
    if (this.leaveDeadline !== undefined) return;
    const [peer] = this.randomMembers(1, (member) => member.state === "alive");
    if (peer !== undefined) this.startPushPull(peer.address, false, this.config.pushPullDigest);
  }

  /** Tries one random failed member again, so partitions that outlive the dead-member grace period still heal. */
  private reconnect(now: number): void {
    if (this.leaving) return;
    for (const [name, entry] of this.failed) if (now - entry.failedAt >= this.config.reconnectTimeout) this.failed.delete(name);
    if (this.failed.size === 0) return;
    const candidates = [...this.failed.values()];
    this.startPushPull((candidates[this.random.int(candidates.length)] as { address: Address }).address, false, false);
  }

  private startPushPull(to: Address, join: boolean, summary: boolean): number | undefined {
    if (!join && this.pushPullsInFlight >= this.config.maxConcurrentPushPulls) return undefined;
    this.pushPullsInFlight++;
    return this.openStream(to, { purpose: "pushPull", to, summary }, this.encodePushPull(join, summary));
  }

  /** This node's push-pull: the whole table, or only its digest when `summary`. */
  private encodePushPull(join: boolean, summary: boolean): Uint8Array {
    const members: PushPullMember[] = [];
    if (!summary) {
      for (const member of this.table.values()) {
        members.push({ name: member.name, address: member.address, meta: member.meta, incarnation: member.incarnation, state: member.state });
      }
    }
    const userState = this.delegate?.localState(join) ?? new Uint8Array();
    return encodeStream({ type: "pushPull", join, members, userState, digest: tableDigest(this.table.values()) });
  }

  /** Rejects a push-pull whose members break this node's limits, before anything is merged. */
  private checkPushPull(message: PushPullMessage): void {
    for (const member of message.members) {
      if (member.meta.length > this.config.metaMaxBytes) {
        throw new DecodeError(`push-pull member ${member.name.slice(0, 64)} has ${member.meta.length} bytes of metadata, over ${this.config.metaMaxBytes}`, { member: member.name.slice(0, 64) });
      }
    }
  }

  private mergePushPull(message: PushPullMessage, now: number): void {
    for (const remote of message.members) {
      switch (remote.state) {
        case "alive":
          this.handleAlive({ type: "alive", name: remote.name, incarnation: remote.incarnation, address: remote.address, meta: remote.meta }, now);
          break;
        case "left":
          this.handleDead({ type: "dead", name: remote.name, incarnation: remote.incarnation, from: remote.name }, now);
          break;
        default:
          // A peer's verdict of death is only its view: suspect instead, so the member can still refute.
          this.handleSuspect({ type: "suspect", name: remote.name, incarnation: remote.incarnation, from: this.config.name }, now);
      }
    }
    if (this.delegate !== undefined && message.userState.length > 0) this.delegate.mergeRemoteState(message.userState, message.join);
  }

  private attemptJoin(now: number): void {
    const join = this.join as JoinAttempt;
    join.attempt++;
    join.retryAt = undefined;
    join.contacted = 0;
    for (const seed of join.seeds) {
      const id = this.startPushPull(seed, true, false);
      if (id !== undefined) join.pending.add(id);
    }
    this.finishJoinAttempt(now);
  }

  private finishJoinAttempt(now: number): void {
    const join = this.join as JoinAttempt;
    if (join.pending.size > 0) return;
    if (join.contacted > 0) {
      this.join = undefined;
      this.out.events.push({ type: "joinComplete", contacted: join.contacted });
    } else if (join.attempt >= this.config.joinMaxAttempts) {
      this.join = undefined;
      this.out.events.push({ type: "joinFailed", attempts: join.attempt });
    } else {
      join.retryAt = now + this.config.joinRetryInterval;
    }
  }

  private openStream(to: Address, pending: PendingStream, bytes: Uint8Array): number {
    const id = this.nextStreamId++;
    this.pendingStreams.set(id, pending);
    this.counters.streamsOpened++;
    const purpose: StreamPurpose = pending.purpose;
    this.out.streams.push({ id, to, purpose, bytes } satisfies StreamRequest);
    return id;
  }

  // ---- helpers ------------------------------------------------------------------------------

  private self(): Member {
    return this.table.get(this.config.name) as Member;
  }

  private otherLiveMembers(): number {
    return this.liveCount() - 1;
  }

  /**
   * Up to `count` distinct random other members passing `accept`: random draws first (cheap in a
   * large cluster), then a scan from a random point, so a small cluster never comes up short.
   */
  private randomMembers(count: number, accept: (member: Member) => boolean): Member[] {
    const chosen: Member[] = [];
    const size = this.probeOrder.length;
    if (size === 0) return chosen;
    const consider = (index: number) => {
      const member = this.table.get(this.probeOrder[index % size] as MemberName);
      if (member !== undefined && accept(member) && !chosen.includes(member)) chosen.push(member);
    };
    for (let draws = 0; draws < 2 * count && chosen.length < count; draws++) consider(this.random.int(size));
    const start = this.random.int(size);
    for (let offset = 0; offset < size && chosen.length < count; offset++) consider(start + offset);
    return chosen;
  }

  private emit(change: MemberChange, member: Member): void {
    const event: GossipEvent = { type: "member", change, member: { ...member } };
    this.out.events.push(event);
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
