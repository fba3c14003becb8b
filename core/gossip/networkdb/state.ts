/**
 * What a NetworkDB node holds, and the primitives every part of it changes that state with:
 * storing or dropping an entry version (telling watchers what readers now see), writing one of
 * this node's own entries, and queueing a message for a peer.
 */
import type { Random } from "../../common/random.ts";
import type { BroadcastQueue } from "../broadcast.ts";
import type { AttachmentTable } from "./attachments.ts";
import { encodeEntry } from "./codec.ts";
import type { NetworkDbConfig } from "./config.ts";
import { type EntryStore, type StoredEntry, entrySlot } from "./entries.ts";
import type { LamportClock } from "./lamport.ts";
import type { PeerTable } from "./peers.ts";
import type { EntryRecord, EntryView, NetworkDbStats, OutboundMessage } from "./types.ts";
import type { Watchers } from "./watch.ts";

/** What this node keeps for each network it is attached to. */
export interface JoinedNetwork {
  /** Encoded table events waiting to be gossiped to the network's peers. */
  queue: BroadcastQueue;
  /** Set on join and whenever the network had no live peer: a bulk sync must complete. */
  syncNeeded: boolean;
  /** When the last unanswered bulk-sync request went out. */
  syncRequestedAt: number | null;
  /** When the next periodic bulk sync is due. */
  nextPeriodicSync: number;
}

/** The counters of `NetworkDbStats`; the entry counts are computed when asked. */
export type NetworkDbCounters = Omit<NetworkDbStats, "visibleEntries" | "hiddenEntries" | "tombstones">;

/** A NetworkDB node's state, shared by the modules that implement its rules. */
export interface NetworkDbState {
  /** The resolved configuration. */
  readonly config: NetworkDbConfig;
  /** This node's name. */
  readonly self: string;
  /** Chooses gossip targets and bulk-sync peers. */
  readonly random: Random;
  /** The current time (ms), as last given. */
  now: number;
  readonly clock: LamportClock;
  readonly attachments: AttachmentTable;
  readonly entries: EntryStore;
  readonly peers: PeerTable;
  readonly watchers: Watchers;
  /** The networks this node is attached to. */
  readonly joined: Map<string, JoinedNetwork>;
  /** Attachment records waiting to ride on membership gossip. */
  readonly clusterQueue: BroadcastQueue;
  /** Messages for the shell to deliver. */
  outbox: OutboundMessage[];
  readonly counters: NetworkDbCounters;
}

/** Writes a version of an own entry at a fresh Lamport time and queues it for gossip. */
export function writeOwn(db: NetworkDbState, network: string, table: string, key: string, value: Uint8Array, deleted: boolean): void {
  const ownerJoin = db.attachments.get(db.self, network)?.ltime ?? 0;
  const entry: StoredEntry = {
    network,
    table,
    key,
    owner: db.self,
    ltime: db.clock.tick(),
    ownerJoin,
    value,
    reapAt: deleted ? db.now + db.config.entryReapTimeout : null,
  };
  replace(db, db.entries.get(network, table, key), entry);
  queueEvent(db, entry);
}

/** Puts `next` in the store in place of `previous`, telling watchers what readers now see. */
export function replace(db: NetworkDbState, previous: StoredEntry | undefined, next: StoredEntry): void {
  const before = previous === undefined ? undefined : view(db, previous);
  db.entries.set(next);
  db.watchers.change(before, view(db, next));
}

/** Drops `entry` from the store, telling watchers if readers saw it. */
export function remove(db: NetworkDbState, entry: StoredEntry): void {
  const before = view(db, entry);
  db.entries.delete(entry.network, entry.table, entry.key);
  db.watchers.change(before, undefined);
}

/** What readers see of `entry`: nothing for tombstones and for entries of unreachable owners. */
export function view(db: NetworkDbState, entry: StoredEntry): EntryView | undefined {
  if (entry.reapAt !== null) return undefined;
  if (entry.owner !== db.self && !db.peers.isAlive(entry.owner)) return undefined;
  return { network: entry.network, table: entry.table, key: entry.key, owner: entry.owner, ltime: entry.ltime, value: entry.value };
}

/** Queues `entry` for gossip on its network, replacing an older queued version of its key. */
export function queueEvent(db: NetworkDbState, entry: StoredEntry): void {
  db.joined.get(entry.network)?.queue.enqueue(entrySlot(entry.table, entry.key), encodeEntry(entryRecord(db, entry)));
}

/** The wire form of `entry`, its reap time made relative to now. */
export function entryRecord(db: NetworkDbState, entry: StoredEntry): EntryRecord {
  return {
    table: entry.table,
    key: entry.key,
    owner: entry.owner,
    ltime: entry.ltime,
    ownerJoin: entry.ownerJoin,
    value: entry.value,
    reapIn: entry.reapAt === null ? null : Math.max(0, entry.reapAt - db.now),
  };
}

/** Queues `bytes` for `to`, counting them as sent. */
export function send(db: NetworkDbState, to: string, network: string | null, transport: OutboundMessage["transport"], bytes: Uint8Array): void {
  db.counters.bytesSent += bytes.length;
  db.outbox.push({ to, network, transport, bytes });
}
