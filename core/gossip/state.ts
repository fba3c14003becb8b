/**
 * The mutable state of one membership core, shared by the modules that make up `Membership`
 * (probe.ts, updates.ts, pushpull.ts, outbox.ts), plus the queries over the member table that
 * several of them need. Nothing here sends or decides; it only holds and looks up.
 */
import type { Random } from "../common/random.ts";
import { Awareness } from "./awareness.ts";
import { BroadcastQueue } from "./broadcast.ts";
import type { GossipConfig } from "./config.ts";
import type { Suspicion } from "./suspicion.ts";
import type { Address, Delegate, GossipStats, Member, MemberName, Ready } from "./types.ts";

/** The probe in progress: one target, one sequence number, three moments. */
export interface Probe {
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
export interface Relay {
  sourceAddress: Address;
  sourceSeq: number;
  wantNack: boolean;
  deadline: number;
}

/** A stream this core asked the shell to open, awaiting `streamReply`. */
export type PendingStream = { purpose: "pushPull"; to: Address; summary: boolean } | { purpose: "probe"; seq: number } | { purpose: "user" };

/** A `joinCluster` in progress: the current round's streams and how many seeds answered. */
export interface JoinAttempt {
  seeds: Address[];
  attempt: number;
  pending: Set<number>;
  contacted: number;
  retryAt: number | undefined;
}

/** The counters `stats()` reports, less the two read live from the awareness and the queue. */
export type MembershipCounters = Omit<GossipStats, "awareness" | "queuedBroadcasts">;

/** A timer that is not armed. */
const NEVER = Number.POSITIVE_INFINITY;

/** Everything one membership core knows and has scheduled. */
export interface MembershipState {
  readonly config: GossipConfig;
  readonly random: Random;
  readonly delegate: Delegate | undefined;
  readonly table: Map<MemberName, Member>;
  /** Every other member, in the shuffled order probes visit them. */
  probeOrder: MemberName[];
  probeIndex: number;
  /** Where gossip rounds continue their own walk of `probeOrder`. */
  gossipIndex: number;
  probe: Probe | undefined;
  readonly relays: Map<number, Relay>;
  readonly suspicions: Map<MemberName, Suspicion>;
  readonly broadcasts: BroadcastQueue;
  readonly awareness: Awareness;
  readonly pendingStreams: Map<number, PendingStream>;
  /** Members declared failed (not left), still worth reconnecting to; see `reconnectInterval`. */
  readonly failed: Map<MemberName, { address: Address; failedAt: number }>;
  pushPullsInFlight: number;
  join: JoinAttempt | undefined;
  leaving: boolean;
  leaveDeadline: number | undefined;
  nextSeq: number;
  nextStreamId: number;
  nextProbeAt: number;
  nextGossipAt: number;
  nextPushPullAt: number;
  nextReconnectAt: number;
  /** What `ready()` drains next. */
  out: Ready;
  readonly counters: MembershipCounters;
}

/** A cluster of one at time `now`: this node alive, every timer at a random phase. `config` must be validated and owned. */
export function createState(config: GossipConfig, random: Random, now: number, delegate: Delegate | undefined): MembershipState {
  const table = new Map<MemberName, Member>();
  table.set(config.name, {
    name: config.name,
    address: config.address,
    meta: config.meta,
    incarnation: 1,
    state: "alive",
    stateChangedAt: now,
  });
  return {
    config,
    random,
    delegate,
    table,
    probeOrder: [],
    probeIndex: 0,
    gossipIndex: 0,
    probe: undefined,
    relays: new Map(),
    suspicions: new Map(),
    broadcasts: new BroadcastQueue(config.retransmitMult),
    awareness: new Awareness(config.awarenessMaxMultiplier),
    pendingStreams: new Map(),
    failed: new Map(),
    pushPullsInFlight: 0,
    join: undefined,
    leaving: false,
    leaveDeadline: undefined,
    nextSeq: 1,
    nextStreamId: 1,
    // A random probe phase, so nodes started together do not probe in lockstep. Gossip rounds
    // need none: they run when news arrives (see `Membership.tick`), so the first may run at once.
    nextProbeAt: now + random.int(config.probeInterval),
    nextGossipAt: now,
    nextPushPullAt: config.pushPullInterval > 0 ? now + random.int(config.pushPullInterval) : NEVER,
    nextReconnectAt: config.reconnectInterval > 0 ? now + config.reconnectInterval : NEVER,
    out: { packets: [], streams: [], events: [] },
    counters: {
      packetsSent: 0,
      packetsReceived: 0,
      bytesSent: 0,
      bytesReceived: 0,
      streamsOpened: 0,
      probes: 0,
      probesFailed: 0,
      indirectProbes: 0,
      refutations: 0,
    },
  };
}

/** This node's own entry in the table. */
export function selfMember(state: MembershipState): Member {
  return state.table.get(state.config.name) as Member;
}

/** How many members are alive or suspect (not known to be gone), this node included. */
export function liveCount(state: MembershipState): number {
  let count = 0;
  for (const member of state.table.values()) if (member.state === "alive" || member.state === "suspect") count++;
  return count;
}

/**
 * Up to `count` distinct random other members passing `accept`: random draws first (cheap in a
 * large cluster), then a scan from a random point, so a small cluster never comes up short.
 */
export function randomMembers(state: MembershipState, count: number, accept: (member: Member) => boolean): Member[] {
  const chosen: Member[] = [];
  const size = state.probeOrder.length;
  if (size === 0) return chosen;
  const consider = (index: number) => {
    const member = state.table.get(state.probeOrder[index % size] as MemberName);
    if (member !== undefined && accept(member) && !chosen.includes(member)) chosen.push(member);
  };
  for (let draws = 0; draws < 2 * count && chosen.length < count; draws++) consider(state.random.int(size));
  const start = state.random.int(size);
  for (let offset = 0; offset < size && chosen.length < count; offset++) consider(start + offset);
  return chosen;
}

/**
 * Adds a newcomer at a random position among the members still to be probed this round, so it
 * is probed within the round. (Anywhere in the order, as memberlist does, a newcomer placed among
 * the already probed waits up to two rounds, and the member it displaces is probed twice.)
 */
export function addToProbeOrder(state: MembershipState, name: MemberName): void {
  const position = state.probeIndex + state.random.int(state.probeOrder.length - state.probeIndex + 1);
  state.probeOrder.push(name);
  const swapped = state.probeOrder[position] as MemberName;
  state.probeOrder[position] = name;
  state.probeOrder[state.probeOrder.length - 1] = swapped;
}
