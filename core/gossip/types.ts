/**
 * The vocabulary of the membership core: the messages nodes exchange, the members it tracks,
 * what it hands its shell to send, and the events it reports. Shared by `core/gossip` (the pure
 * protocol), `core/transport/gossip*` (sockets, sealing) and `core/gossip/networkdb` (which rides
 * on the same packets through a `Delegate`).
 */

/** A member's unique name: the cluster node id. */
export type MemberName = string;

/** Where a member is reached: "host:port" for the shell; any string in the simulator. */
export type Address = string;

/** What this node believes about a member. `left` is a dead member that said goodbye. */
export type MemberState = "alive" | "suspect" | "dead" | "left";

/** One member as the core reports it (a snapshot; mutating it changes nothing). */
export interface Member {
  name: MemberName;
  address: Address;
  /** Opaque application metadata, at most `metaMaxBytes`. */
  meta: Uint8Array;
  /** The member's own counter; a higher incarnation overrides any claim about an older one. */
  incarnation: number;
  state: MemberState;
  /** When `state` last changed (the `now` the core was given). */
  stateChangedAt: number;
}

/** Direct probe: "are you alive?" addressed to `target` by name, so a reused address cannot answer. */
export interface PingMessage {
  type: "ping";
  seq: number;
  target: MemberName;
  source: MemberName;
  sourceAddress: Address;
}

/** Asks the receiver to probe `target` on behalf of `source` and relay the ack (or a nack). */
export interface IndirectPingMessage {
  type: "indirectPing";
  seq: number;
  target: MemberName;
  targetAddress: Address;
  source: MemberName;
  sourceAddress: Address;
  /** Whether the source wants a nack when the target does not answer (Lifeguard). */
  wantNack: boolean;
}

/** Answers a ping (or relays the target's answer to an indirect ping). */
export interface AckMessage {
  type: "ack";
  seq: number;
}

/** Says an indirect probe got no answer: proof that the relay (and the way to it) still works. */
export interface NackMessage {
  type: "nack";
  seq: number;
}

/** Gossip: `name` is alive at `incarnation`, reachable at `address`, with `meta`. */
export interface AliveMessage {
  type: "alive";
  name: MemberName;
  incarnation: number;
  address: Address;
  meta: Uint8Array;
}

/** Gossip: `from` suspects `name` at `incarnation`. */
export interface SuspectMessage {
  type: "suspect";
  name: MemberName;
  incarnation: number;
  from: MemberName;
}

/** Gossip: `from` declares `name` dead at `incarnation`; `from === name` means a graceful leave. */
export interface DeadMessage {
  type: "dead";
  name: MemberName;
  incarnation: number;
  from: MemberName;
}

/** An application message (a `Delegate`'s broadcast or a direct `sendUser`), opaque to the core. */
export interface UserMessage {
  type: "user";
  data: Uint8Array;
}

/** One member's entry in a push-pull exchange. */
export interface PushPullMember {
  name: MemberName;
  address: Address;
  meta: Uint8Array;
  incarnation: number;
  state: MemberState;
}

/**
 * Anti-entropy over a stream, in both directions. A full exchange carries every member; a
 * summary carries none, only the sender's table `digest`, and the peer answers with its full
 * table only when its own digest differs (see `pushPullDigest`).
 */
export interface PushPullMessage {
  type: "pushPull";
  /** True when the sender is joining (the delegate may send more then). */
  join: boolean;
  /** The sender's whole table; empty in a summary (a table always holds at least its owner). */
  members: PushPullMember[];
  /** The delegate's own state (`Delegate.localState`), empty when it has none. */
  userState: Uint8Array;
  /** The sender's `tableDigest`. */
  digest: number;
}

/** Every message carried in a UDP packet. */
export type PacketMessage =
  | PingMessage
  | IndirectPingMessage
  | AckMessage
  | NackMessage
  | AliveMessage
  | SuspectMessage
  | DeadMessage
  | UserMessage;

/** Every message carried on a stream (TCP): push-pull, a fallback probe and its ack, or a reliable user message. */
export type StreamMessage = PushPullMessage | PingMessage | AckMessage | UserMessage;

/** An encoded UDP packet for the shell to seal and send. */
export interface OutgoingPacket {
  to: Address;
  bytes: Uint8Array;
}

/** Why the core wants a stream: full-state exchange, a TCP fallback probe, or a reliable user message. */
export type StreamPurpose = "pushPull" | "probe" | "user";

/**
 * A request for the shell to open a stream to `to`, write `bytes`, read the peer's reply and
 * hand it back with `GossipCore.streamReply(id, reply, now)` (or `undefined` on any failure or
 * timeout). The peer's shell passes the request to `GossipCore.receiveStream` and writes back
 * what it returns.
 */
export interface StreamRequest {
  id: number;
  to: Address;
  purpose: StreamPurpose;
  bytes: Uint8Array;
}

/** How a member changed, as reported in a `member` event. */
export type MemberChange =
  /** First heard of, or back after dead/left. */
  | "join"
  /** Address or metadata changed. */
  | "update"
  /** Suspected of failure; not yet dead. */
  | "suspect"
  /** A suspected member refuted the suspicion. */
  | "alive"
  /** Declared failed. */
  | "dead"
  /** Left gracefully. */
  | "leave"
  /** Dropped from the member table (dead or left for `gossipToTheDeadTime`). */
  | "reap";

/** What the core reports to the agent. */
export type GossipEvent =
  | { type: "member"; change: MemberChange; member: Member }
  /** `join()` reached at least one seed; `contacted` counts the seeds that answered. */
  | { type: "joinComplete"; contacted: number }
  /** `join()` gave up after `attempts` rounds with no seed answering. */
  | { type: "joinFailed"; attempts: number }
  /** `leave()` has propagated (or timed out waiting); the shell may stop. */
  | { type: "leaveComplete" };

/** A batch of work drained from the core by `GossipCore.ready()`. */
export interface Ready {
  packets: OutgoingPacket[];
  streams: StreamRequest[];
  events: GossipEvent[];
}

/**
 * The application's hooks into gossip, after memberlist's Delegate: it piggybacks its own
 * broadcasts on membership packets and merges its own state during push-pull. All calls are
 * synchronous and made from inside the core's methods.
 */
export interface Delegate {
  /** State to send in a push-pull; `join` is true when either side is joining. */
  localState(join: boolean): Uint8Array;
  /** Merges the peer's `localState` received during a push-pull. */
  mergeRemoteState(state: Uint8Array, join: boolean): void;
  /**
   * Up to `limit` bytes of application broadcasts to piggyback, each message costing
   * `overhead` bytes of framing on top of its length.
   */
  getBroadcasts(overhead: number, limit: number): Uint8Array[];
  /**
   * False when `getBroadcasts` would return nothing, so an idle node can skip waking for gossip
   * rounds. Optional: without it the core assumes there may always be something.
   */
  hasBroadcasts?(): boolean;
  /** A user message arrived (a broadcast, a `sendUser` or a `sendUserReliable`). */
  notifyMsg(data: Uint8Array): void;
}

/** Counters the shell exports to `/metrics`. */
export interface GossipStats {
  packetsSent: number;
  packetsReceived: number;
  bytesSent: number;
  bytesReceived: number;
  streamsOpened: number;
  probes: number;
  probesFailed: number;
  indirectProbes: number;
  refutations: number;
  /** Current Lifeguard local health score (0 is healthy; multiplier is score + 1). */
  awareness: number;
  /** Broadcasts waiting in the membership queue. */
  queuedBroadcasts: number;
}
