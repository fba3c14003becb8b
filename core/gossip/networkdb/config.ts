/**
 * NetworkDB tunables: one config, every knob named, documented and defaulted.
 *
 * Times are milliseconds. The defaults suit a LAN cluster: table events reach a network's
 * nodes within a few gossip rounds, anti-entropy repairs anything gossip missed within one
 * bulk-sync interval, and state of a vanished node is kept long enough to ride out a reboot.
 */
import { ShoalError } from "../../common/errors.ts";

/** Every NetworkDB tunable. Build one with `resolveNetworkDbConfig`. */
export interface NetworkDbConfig {
  /** How often queued table events are gossiped to peers on the same network. */
  gossipInterval: number;
  /** How many random peers attached to a network receive each gossip round for it. */
  gossipFanout: number;
  /**
   * Each table event is sent `retransmitMult × ceil(log10(n + 1))` times, `n` being the nodes
   * on its network (for network join/leave records: the live cluster members).
   */
  retransmitMult: number;
  /**
   * Each table event is sent at least this many times, however small its network (rounded up
   * to a multiple of `retransmitMult`). With the formula alone, networks under 10 nodes get 4
   * sends and under 100 nodes 8, and a node misses an event with probability about e^-sends
   * until the next bulk sync repairs it: in simulation at 10% loss, 200 writes converged in a
   * median 19.7 s (8 nodes, 4 sends) and 9-21 s (50 nodes, 8 sends), but in about 1 s with 12.
   * Costs more datagrams on networks under 100 nodes only.
   */
  minRetransmits: number;
  /** Anti-entropy period: each joined network is bulk-synced with one random peer this often. */
  bulkSyncInterval: number;
  /** How long to wait for a bulk-sync reply before asking another peer (joins and repairs). */
  bulkSyncTimeout: number;
  /** How often tombstones, network-leave records and long-failed nodes are checked for reaping. */
  reapInterval: number;
  /**
   * How long a deleted entry's tombstone, and a node's network-leave record, are kept. While
   * kept they make every node reject stale copies of what was deleted; keep it well above the
   * longest time a copy can stay in flight (bulk-sync interval, partitions you expect to heal).
   */
  entryReapTimeout: number;
  /**
   * How long the entries of a failed node are kept, hidden, waiting for it to come back.
   * When it returns within this time they reappear with no action from anyone; after it,
   * they are dropped (a node that comes back later republishes its own entries by bulk sync).
   */
  nodeReapTimeout: number;
  /**
   * Largest encoded gossip message (one network's table events, sent as a datagram). Under
   * the membership layer's 1,400-byte packets it leaves room for their framing and a
   * piggybacked membership message or two.
   */
  maxMessageBytes: number;
  /** Largest encoded bulk-sync message (sent over a stream); bigger states are split. */
  maxBulkSyncBytes: number;
  /** Largest entry value accepted locally or from the wire. Must fit in one gossip message. */
  maxValueBytes: number;
}

/** The defaults: 200 ms gossip to 3 peers, 30 s anti-entropy, 30 min reaping. */
export const defaultNetworkDbConfig: Readonly<NetworkDbConfig> = Object.freeze({
  gossipInterval: 200,
  gossipFanout: 3,
  retransmitMult: 4,
  minRetransmits: 12,
  bulkSyncInterval: 30_000,
  bulkSyncTimeout: 5_000,
  reapInterval: 5_000,
  entryReapTimeout: 30 * 60_000,
  nodeReapTimeout: 30 * 60_000,
  maxMessageBytes: 1_300,
  maxBulkSyncBytes: 1 << 20,
  maxValueBytes: 640,
});

/** Longest network, table, key or node name, in bytes of printable ASCII. */
export const maxNameBytes = 128;

/**
 * Room a single entry needs in a gossip message beside its value: the envelope, four names at
 * `maxNameBytes`, field labels and counters.
 */
const entryOverheadBytes = 4 * maxNameBytes + 128;

/** Overrides `defaultNetworkDbConfig` with `overrides` and rejects impossible values. */
export function resolveNetworkDbConfig(overrides: Partial<NetworkDbConfig> = {}): NetworkDbConfig {
  const config: NetworkDbConfig = { ...defaultNetworkDbConfig };
  for (const [name, value] of Object.entries(overrides)) {
    if (!(name in defaultNetworkDbConfig)) throw invalid(name, value, "is not a NetworkDB setting");
    if (value === undefined) continue;
    if (typeof value !== "number" || !Number.isInteger(value) || value <= 0) {
      throw invalid(name, value, "must be a positive integer");
    }
    config[name as keyof NetworkDbConfig] = value;
  }
  if (config.maxValueBytes + entryOverheadBytes > config.maxMessageBytes) {
    throw invalid("maxValueBytes", config.maxValueBytes, `plus ${entryOverheadBytes} bytes of overhead must fit in maxMessageBytes (${config.maxMessageBytes})`);
  }
  if (config.maxBulkSyncBytes < config.maxMessageBytes) {
    throw invalid("maxBulkSyncBytes", config.maxBulkSyncBytes, "must be at least maxMessageBytes");
  }
  if (config.bulkSyncTimeout > config.bulkSyncInterval) {
    throw invalid("bulkSyncTimeout", config.bulkSyncTimeout, "must not exceed bulkSyncInterval");
  }
  return config;
}

function invalid(name: string, value: unknown, why: string): ShoalError {
  return new ShoalError("config_invalid", `networkdb config: ${name} ${why}`, { setting: name, value });
}
