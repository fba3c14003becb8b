/**
 * Every tunable of the membership protocol, in one place, with the profiles users expect:
 * `lanConfig()` matches hashicorp/memberlist's DefaultLANConfig, `wanConfig()` its
 * DefaultWANConfig and `localConfig()` its DefaultLocalConfig (loopback, one host).
 *
 * All durations are milliseconds. The core never reads a clock: the shell passes `now`.
 */
import { ShoalError } from "../common/errors.ts";

/** The membership protocol's configuration; see each field. */
export interface GossipConfig {
  /** This node's unique name (the cluster node id). Members are keyed by name. */
  name: string;
  /** The address peers reach this node at ("host:port"); what the shell binds and advertises. */
  address: string;
  /** Opaque application metadata (labels, roles, addresses), at most `metaMaxBytes` bytes. */
  meta: Uint8Array;
  /** Upper bound on a member's metadata; bigger local meta is refused, bigger remote meta dropped. */
  metaMaxBytes: number;

  /** Time between failure-detection probes (one member per interval, randomized round-robin). */
  probeInterval: number;
  /** How long to wait for a direct ack before asking other members to probe indirectly. */
  probeTimeout: number;
  /** How many members are asked to probe indirectly when a direct probe times out (SWIM's k). */
  indirectChecks: number;
  /** Whether a failed UDP probe is also tried over a TCP stream (catches UDP-only trouble). */
  tcpFallbackProbe: boolean;
  /**
   * Lifeguard local health: the highest multiplier applied to probe interval and timeout when
   * this node itself misses acks or nacks or has to refute (it is probably the slow one).
   */
  awarenessMaxMultiplier: number;

  /** Suspicion timeout floor in probe intervals, scaled by log10 of the cluster size. */
  suspicionMult: number;
  /** The suspicion timeout starts at `suspicionMaxTimeoutMult` times the floor and shrinks with confirmations. */
  suspicionMaxTimeoutMult: number;

  /** Time between gossip rounds that send queued broadcasts to `gossipNodes` random members. */
  gossipInterval: number;
  /** How many random members each gossip round sends to. */
  gossipNodes: number;
  /** How long dead members still receive gossip (so they can refute) before they are reaped. */
  gossipToTheDeadTime: number;
  /** Broadcasts are sent `retransmitMult * ceil(log10(n + 1))` times. */
  retransmitMult: number;
  /** Largest UDP payload the core builds, before sealing (compound packets stay under it). */
  maxPacketBytes: number;

  /** Period of full-state anti-entropy with a random member; 0 disables it. Scaled up above 32 nodes. */
  pushPullInterval: number;
  /**
   * Periodic push-pulls first send a digest of the member table and ship the whole table only
   * when the peer's differs, so steady-state traffic stays flat as the cluster grows. Joins and
   * reconnects always exchange everything. False gives memberlist's always-full exchange.
   */
  pushPullDigest: boolean;
  /** Most push-pull exchanges this node runs at once (outbound here; the shell caps inbound). */
  maxConcurrentPushPulls: number;
  /** Largest push-pull state accepted from a peer, in bytes. */
  maxStreamBytes: number;

  /**
   * Period of attempts to reach a failed member again (one random failed member per period, by
   * push-pull), so two sides of a healed partition find each other even after reaping; 0 disables.
   */
  reconnectInterval: number;
  /** How long a failed member stays a reconnect candidate before it is forgotten for good. */
  reconnectTimeout: number;

  /** Delay between join attempts when no seed answered. */
  joinRetryInterval: number;
  /** Join attempts before giving up (each attempt contacts every seed). */
  joinMaxAttempts: number;
  /** Longest wait for a graceful leave to propagate before reporting it complete. */
  leavePropagateTimeout: number;
}

/** The profile-dependent part of the configuration (everything but identity and metadata). */
export type GossipTuning = Omit<GossipConfig, "name" | "address" | "meta">;

const lanTuning: GossipTuning = {
  metaMaxBytes: 512,
  probeInterval: 1_000,
  probeTimeout: 500,
  indirectChecks: 3,
  tcpFallbackProbe: true,
  awarenessMaxMultiplier: 8,
  suspicionMult: 4,
  suspicionMaxTimeoutMult: 6,
  gossipInterval: 200,
  gossipNodes: 3,
  gossipToTheDeadTime: 30_000,
  retransmitMult: 4,
  maxPacketBytes: 1_400,
  pushPullInterval: 30_000,
  pushPullDigest: true,
  maxConcurrentPushPulls: 128,
  maxStreamBytes: 16 * 1024 * 1024,
  reconnectInterval: 30_000,
  reconnectTimeout: 24 * 60 * 60 * 1000,
  joinRetryInterval: 1_000,
  joinMaxAttempts: 10,
  leavePropagateTimeout: 3_000,
};

/** Identity of the node a profile is built for. */
export interface GossipIdentity {
  name: string;
  address: string;
  meta?: Uint8Array;
}

function build(identity: GossipIdentity, tuning: GossipTuning, overrides: Partial<GossipTuning>): GossipConfig {
  const config = { ...tuning, ...overrides, name: identity.name, address: identity.address, meta: identity.meta ?? new Uint8Array() };
  validateConfig(config);
  return config;
}

/** memberlist's DefaultLANConfig: a data-center network. */
export function lanConfig(identity: GossipIdentity, overrides: Partial<GossipTuning> = {}): GossipConfig {
  return build(identity, lanTuning, overrides);
}

/** memberlist's DefaultWANConfig: high latency and loss, so slower probes and more patience. */
export function wanConfig(identity: GossipIdentity, overrides: Partial<GossipTuning> = {}): GossipConfig {
  return build(identity, {
    ...lanTuning,
    probeInterval: 5_000,
    probeTimeout: 3_000,
    suspicionMult: 6,
    gossipInterval: 500,
    gossipNodes: 4,
    gossipToTheDeadTime: 60_000,
    pushPullInterval: 60_000,
  }, overrides);
}

/** memberlist's DefaultLocalConfig: nodes on one host or loopback, so everything is quicker. */
export function localConfig(identity: GossipIdentity, overrides: Partial<GossipTuning> = {}): GossipConfig {
  return build(identity, {
    ...lanTuning,
    probeInterval: 1_000,
    probeTimeout: 200,
    indirectChecks: 1,
    suspicionMult: 3,
    gossipInterval: 100,
    gossipToTheDeadTime: 15_000,
    retransmitMult: 2,
    pushPullInterval: 15_000,
  }, overrides);
}

const positive: (keyof GossipTuning)[] = [
  "probeInterval", "probeTimeout", "indirectChecks", "awarenessMaxMultiplier", "suspicionMult", "suspicionMaxTimeoutMult",
  "gossipInterval", "gossipNodes", "retransmitMult", "maxPacketBytes", "maxConcurrentPushPulls", "maxStreamBytes",
  "joinRetryInterval", "joinMaxAttempts",
];
const nonNegative: (keyof GossipTuning)[] = [
  "metaMaxBytes", "gossipToTheDeadTime", "pushPullInterval", "reconnectInterval", "reconnectTimeout", "leavePropagateTimeout",
];

/** Throws `ShoalError("config_invalid")` naming the first field that cannot work. */
export function validateConfig(config: GossipConfig): void {
  const fail = (field: string, message: string) => {
    throw new ShoalError("config_invalid", `gossip config: ${field} ${message}`, { field });
  };
  if (config.name === "") fail("name", "must not be empty");
  if (config.address === "") fail("address", "must not be empty");
  for (const field of positive) {
    const value = config[field];
    if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) fail(field, "must be a positive number");
  }
  for (const field of nonNegative) {
    const value = config[field];
    if (typeof value !== "number" || !Number.isFinite(value) || value < 0) fail(field, "must be zero or more");
  }
  if (config.probeTimeout > config.probeInterval) fail("probeTimeout", "must not exceed probeInterval");
  if (config.suspicionMaxTimeoutMult < 1) fail("suspicionMaxTimeoutMult", "must be at least 1");
  if (config.maxPacketBytes < 256) fail("maxPacketBytes", "must be at least 256 bytes");
  if (config.meta.length > config.metaMaxBytes) fail("meta", `is ${config.meta.length} bytes, over metaMaxBytes ${config.metaMaxBytes}`);
}
