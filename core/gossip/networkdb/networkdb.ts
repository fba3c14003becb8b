/**
 * NetworkDB: network-scoped tables replicated by gossip, as a pure state machine.
 *
 * Inputs: local writes (`joinNetwork`, `createEntry`…), messages from peers and cluster
 * broadcasts (`notifyMsg`), push-pull state (`mergeRemoteState`), membership changes
 * (`memberAlive/Failed/Left`, or `applyMemberEvent`) and time (`tick`). Outputs: messages to
 * deliver to named peers (`takeOutbox`), attachment records to piggyback on membership gossip
 * (`getBroadcasts`, `localState`) and watch events. No sockets, timers or ambient randomness.
 *
 * Rules that keep every node's view right (and avoid the failures Docker's NetworkDB has):
 * - Entries travel only between nodes attached to their network; only join/leave records go
 *   cluster-wide.
 * - Every entry carries the Lamport time of its owner's join (`ownerJoin`), so an entry from a
 *   past attachment is rejected wherever it comes from, and a node learns an attachment from
 *   the entry itself if the join record has not reached it yet.
 * - A failed node's entries and attachments are kept, hidden from readers, and still updated
 *   by gossip and bulk sync; when membership reports it alive again they reappear and a bulk
 *   sync with it runs at once. They are dropped only `nodeReapTimeout` after the failure.
 * - A node is the authority on its own entries and attachments: when it hears a version newer
 *   than its own (it restarted and lost its clock, or a reaped copy came back), it rewrites
 *   its true state with a newer Lamport time instead of accepting or ignoring the stale one.
 * - A node leaving a network makes the others drop its entries there; nobody forges
 *   tombstones for another node's entries.
 */
import { DecodeError, ShoalError } from "../../common/errors.ts";
import type { Random } from "../../common/random.ts";
import { BroadcastQueue } from "../broadcast.ts";
import type { Delegate } from "../types.ts";
import { AttachmentTable } from "./attachments.ts";
import { packBulkSync } from "./bulksync.ts";
import { decodeMessage, encodeEntry, encodeGossip, encodeMessage, isValidName, type DecodeLimits } from "./codec.ts";
import { resolveNetworkDbConfig, type NetworkDbConfig } from "./config.ts";
import { EntryStore, supersedes, type StoredEntry } from "./entries.ts";
import { LamportClock } from "./lamport.ts";
import { PeerTable } from "./peers.ts";
import type {
  AttachmentRecord,
  EntryRecord,
  EntryView,
  NetworkDbMessage,
  NetworkDbStats,
  OutboundMessage,
  PeerStatus,
  WatchEvent,
  WatchFilter,
} from "./types.ts";
import { Watchers, type WatchListener } from "./watch.ts";

/** What a NetworkDB instance is built from. */
export interface NetworkDbOptions {
  /** This node's name, as the membership layer names it. */
  self: string;
  /** Chooses gossip targets and bulk-sync peers. */
  random: Random;
  /** The current time (ms); later times arrive through `tick`. */
  now: number;
  config?: Partial<NetworkDbConfig>;
  /** Hears of exceptions thrown by watch listeners (counted in `listenerErrors` either way). */
  onListenerError?: (error: unknown, event: WatchEvent) => void;
}

/** What this node keeps for each network it is attached to. */
interface JoinedNetwork {
  /** Encoded table events waiting to be gossiped to the network's peers. */
  queue: BroadcastQueue;
  /** Set on join and whenever the network had no live peer: a bulk sync must complete. */
  syncNeeded: boolean;
  /** When the last unanswered bulk-sync request went out. */
  syncRequestedAt: number | null;
  /** When the next periodic bulk sync is due. */
  nextPeriodicSync: number;
}

/** Raised for local API misuse: writing to a network not joined, or an entry not owned. */
export class NetworkDbError extends ShoalError {}

/**
 * A node's NetworkDB; see the module comment for the rules it keeps. It is the membership
 * core's `Delegate`: attachment records ride on membership gossip and push-pull.
 */
export class NetworkDb implements Delegate {
  /** The resolved configuration. */
  readonly config: NetworkDbConfig;
  /** This node's name. */
  readonly self: string;
  private readonly random: Random;
  private now: number;
  private readonly clock = new LamportClock();
  private readonly attachments = new AttachmentTable();
  private readonly entries = new EntryStore();
  private readonly peers = new PeerTable();
  private readonly watchers: Watchers;
  private readonly joined = new Map<string, JoinedNetwork>();
  private readonly clusterQueue: BroadcastQueue;
  private readonly limits: DecodeLimits;
  private outbox: OutboundMessage[] = [];
  private nextGossipAt: number;
  private nextReapAt: number;
  private readonly counters: Omit<NetworkDbStats, "visibleEntries" | "hiddenEntries" | "tombstones"> = {
    messagesReceived: 0,
    malformedDropped: 0,
    notAttachedDropped: 0,
    staleEntriesIgnored: 0,
    entriesApplied: 0,
    gossipMessagesSent: 0,
    bulkSyncsSent: 0,
    bytesSent: 0,
    listenerErrors: 0,
  };

  constructor(options: NetworkDbOptions) {
    if (!isValidName(options.self)) throw new NetworkDbError("networkdb_invalid_name", "node name must be 1-128 printable ASCII characters", { node: options.self });
    this.config = resolveNetworkDbConfig(options.config);
    this.self = options.self;
    this.random = options.random;
    this.now = options.now;
    this.clusterQueue = new BroadcastQueue(this.config.retransmitMult);
    this.watchers = new Watchers((error, event) => {
      this.counters.listenerErrors += 1;
      options.onListenerError?.(error, event);
    });
    this.limits = { maxValueBytes: this.config.maxValueBytes, maxReapInMs: this.config.entryReapTimeout };
    this.nextGossipAt = this.now + this.config.gossipInterval;
    this.nextReapAt = this.now + this.config.reapInterval;
  }

  // ---- Local API -------------------------------------------------------------------------

  /** Attaches this node to `network`: announces it cluster-wide and bulk-syncs from a peer. */
  joinNetwork(network: string): void {
    checkName(network, "network");
    if (this.joined.has(network)) return;
    const record: AttachmentRecord = { node: this.self, network, ltime: this.clock.tick(), joined: true };
    this.storeAttachment(record);
    this.announce(record);
    this.joined.set(network, {
      queue: new BroadcastQueue(this.config.retransmitMult),
      syncNeeded: true,
      syncRequestedAt: null,
      nextPeriodicSync: this.now + this.random.int(this.config.bulkSyncInterval) + 1,
    });
    this.syncIfDue(network);
    this.watchers.flush();
  }

  /** Detaches this node from `network`: others drop its entries there; it forgets the network's tables. */
  leaveNetwork(network: string): void {
    if (!this.joined.has(network)) return;
    const record: AttachmentRecord = { node: this.self, network, ltime: this.clock.tick(), joined: false };
    this.storeAttachment(record);
    this.announce(record);
    this.joined.delete(network);
    for (const entry of this.entries.ofNetwork(network)) this.remove(entry);
    this.watchers.flush();
  }

  /** Writes a new entry owned by this node; fails if a visible entry holds the key. */
  createEntry(network: string, table: string, key: string, value: Uint8Array): void {
    this.checkWrite(network, table, key, value);
    const existing = this.entries.get(network, table, key);
    if (existing !== undefined && this.view(existing) !== undefined) {
      throw new NetworkDbError("networkdb_entry_exists", `entry ${table}/${key} already exists on network ${network}`, { network, table, key, owner: existing.owner });
    }
    this.writeOwn(network, table, key, value, false);
    this.watchers.flush();
  }

  /** Replaces the value of an entry this node owns. */
  updateEntry(network: string, table: string, key: string, value: Uint8Array): void {
    this.checkWrite(network, table, key, value);
    this.requireOwnLive(network, table, key);
    this.writeOwn(network, table, key, value, false);
    this.watchers.flush();
  }

  /** Deletes an entry this node owns, leaving a tombstone until `entryReapTimeout`. */
  deleteEntry(network: string, table: string, key: string): void {
    this.checkWrite(network, table, key, new Uint8Array());
    this.requireOwnLive(network, table, key);
    this.writeOwn(network, table, key, new Uint8Array(), true);
    this.watchers.flush();
  }

  /** The visible entry at (network, table, key), if any. */
  get(network: string, table: string, key: string): EntryView | undefined {
    const entry = this.entries.get(network, table, key);
    return entry === undefined ? undefined : this.view(entry);
  }

  /** The visible entries of `network` (of one table when given), in no particular order. */
  list(network: string, table?: string): EntryView[] {
    const views: EntryView[] = [];
    for (const entry of this.entries.ofNetwork(network)) {
      if (table !== undefined && entry.table !== table) continue;
      const view = this.view(entry);
      if (view !== undefined) views.push(view);
    }
    return views;
  }

  /**
   * Subscribes to create/update/delete events of a network (or one of its tables); by
   * default the entries visible now are delivered first as creates. Returns the cancel function.
   */
  watch(filter: WatchFilter, listener: WatchListener): () => void {
    const current = filter.replay === false ? [] : this.list(filter.network, filter.table);
    return this.watchers.add(filter, listener, current);
  }

  /** Networks this node is attached to. */
  networks(): string[] {
    return [...this.joined.keys()];
  }

  /** Nodes known to be attached to `network` and alive (this node included when attached). */
  nodes(network: string): string[] {
    return this.attachments.attachedTo(network).filter((node) => node === this.self || this.peers.isAlive(node));
  }

  /** A snapshot of the counters and of how many entries are visible, hidden and deleted. */
  stats(): NetworkDbStats {
    let visibleEntries = 0;
    let hiddenEntries = 0;
    let tombstones = 0;
    for (const entry of this.entries.where(() => true)) {
      if (entry.reapAt !== null) tombstones += 1;
      else if (this.view(entry) === undefined) hiddenEntries += 1;
      else visibleEntries += 1;
    }
    return { ...this.counters, visibleEntries, hiddenEntries, tombstones };
  }

  // ---- Membership input ------------------------------------------------------------------

  /**
   * Membership reports `node` alive (joined, or refuted a failure). Its hidden entries
   * reappear; it is sent this node's own attachment records (it may have forgotten them while
   * apart), and if it was failed or gone, every shared network is bulk-synced with it at once.
   */
  memberAlive(node: string): void {
    if (node === this.self) return;
    const previous = this.peers.get(node);
    if (previous?.status === "alive") return;
    const hidden = this.entries.ofOwner(node).map((entry) => [entry, this.view(entry)] as const);
    this.peers.set(node, "alive", this.now);
    for (const [entry, before] of hidden) this.watchers.change(before, this.view(entry));
    const own = this.attachments.ofNode(this.self).map(attachmentRecord);
    if (own.length > 0) {
      const bytes = encodeMessage({ type: "attachments", records: own });
      this.send(node, null, bytes.length <= this.config.maxMessageBytes ? "packet" : "stream", bytes);
    }
    if (previous !== undefined && previous.status !== "unknown") {
      for (const network of this.joined.keys()) if (this.attachments.isAttached(node, network)) this.sendBulkSync(network, node, true);
    }
    this.watchers.flush();
  }

  /** Membership declared `node` dead: its entries are hidden (kept) until it returns or is reaped. */
  memberFailed(node: string): void {
    if (node === this.self) return;
    this.setUnreachable(node, "failed");
    this.watchers.flush();
  }

  /** `node` left the cluster gracefully: its entries and attachments are dropped now. */
  memberLeft(node: string): void {
    if (node === this.self) return;
    this.setUnreachable(node, "left");
    for (const entry of this.entries.ofOwner(node)) this.remove(entry);
    this.attachments.removeNode(node);
    this.watchers.flush();
  }

  // ---- Wire input (the membership Delegate) ----------------------------------------------

  /**
   * A NetworkDB message from any transport: a peer's gossip, bulk sync or attachment records
   * sent directly, or a cluster broadcast piggybacked on membership gossip. Malformed input
   * is counted and dropped.
   */
  notifyMsg(data: Uint8Array): void {
    const message = this.decode(data);
    if (message === undefined) return;
    switch (message.type) {
      case "attachments":
        this.mergeAttachments(message.records, true);
        break;
      case "gossip":
        if (!this.joined.has(message.network)) return this.rejectNotAttached(message.from, message.network);
        for (const event of message.events) this.applyRemote(message.network, event, true);
        break;
      case "bulk":
        if (!this.joined.has(message.network)) return this.rejectNotAttached(message.from, message.network);
        this.mergeBulkSync(message.from, message.network, message.attachments, message.entries);
        if (message.reply) this.sendBulkSync(message.network, message.from, false);
        else this.syncCompleted(message.network);
        break;
    }
    this.watchers.flush();
  }

  /** Attachment records to piggyback on membership gossip, within `limit` bytes. */
  getBroadcasts(overhead: number, limit: number): Uint8Array[] {
    return this.clusterQueue.take(overhead, limit, this.peers.aliveCount() + 1);
  }

  /** Every attachment record this node knows, for a membership push-pull. */
  localState(): Uint8Array {
    return encodeMessage({ type: "attachments", records: this.attachments.all().map(attachmentRecord) });
  }

  /** Merges a peer's attachment records from a push-pull (not re-broadcast: it is bulk state). */
  mergeRemoteState(state: Uint8Array): void {
    const message = this.decode(state);
    if (message === undefined) return;
    if (message.type !== "attachments") return this.malformed();
    this.mergeAttachments(message.records, false);
    this.watchers.flush();
  }

  // ---- Time ------------------------------------------------------------------------------

  /** Advances time to `now`: gossips queued events, runs due bulk syncs and reaps. */
  tick(now: number): void {
    if (now > this.now) this.now = now;
    if (this.now >= this.nextGossipAt) {
      this.gossipRound();
      this.nextGossipAt = this.now + this.config.gossipInterval;
    }
    for (const network of this.joined.keys()) this.syncIfDue(network);
    if (this.now >= this.nextReapAt) {
      this.reap();
      this.nextReapAt = this.now + this.config.reapInterval;
    }
    this.watchers.flush();
  }

  /** The next time `tick` has work to do; the shell may sleep until then. */
  nextDeadline(): number {
    let deadline = Math.min(this.nextGossipAt, this.nextReapAt);
    for (const state of this.joined.values()) {
      deadline = Math.min(deadline, state.nextPeriodicSync);
      if (state.syncNeeded) deadline = Math.min(deadline, (state.syncRequestedAt ?? this.now) + this.config.bulkSyncTimeout);
    }
    return deadline;
  }

  /** Messages produced since the last call, for the shell to deliver. */
  takeOutbox(): OutboundMessage[] {
    const messages = this.outbox;
    this.outbox = [];
    return messages;
  }

  // ---- Entries -----------------------------------------------------------------------------

  private checkWrite(network: string, table: string, key: string, value: Uint8Array): void {
    checkName(table, "table");
    checkName(key, "key");
    if (!this.joined.has(network)) throw new NetworkDbError("networkdb_not_attached", `not attached to network ${network}`, { network });
    if (value.length > this.config.maxValueBytes) {
      throw new NetworkDbError("networkdb_value_too_large", `entry value of ${value.length} bytes exceeds maxValueBytes (${this.config.maxValueBytes})`, { network, table, key });
    }
  }

  private requireOwnLive(network: string, table: string, key: string): void {
    const entry = this.entries.get(network, table, key);
    if (entry === undefined || entry.reapAt !== null) {
      throw new NetworkDbError("networkdb_entry_missing", `no entry ${table}/${key} on network ${network}`, { network, table, key });
    }
    if (entry.owner !== this.self) {
      throw new NetworkDbError("networkdb_not_owner", `entry ${table}/${key} on network ${network} is owned by ${entry.owner}`, { network, table, key, owner: entry.owner });
    }
  }

  /** Writes a version of an own entry at a fresh Lamport time and queues it for gossip. */
  private writeOwn(network: string, table: string, key: string, value: Uint8Array, deleted: boolean): void {
    const ownerJoin = this.attachments.get(this.self, network)?.ltime ?? 0;
    const entry: StoredEntry = {
      network,
      table,
      key,
      owner: this.self,
      ltime: this.clock.tick(),
      ownerJoin,
      value,
      reapAt: deleted ? this.now + this.config.entryReapTimeout : null,
    };
    this.replace(this.entries.get(network, table, key), entry);
    this.queueEvent(entry);
  }

  /**
   * Applies one entry version from the wire. Returns silently when it is stale; queues it
   * for gossip when `rebroadcast` and it changed this node's state.
   */
  private applyRemote(network: string, record: EntryRecord, rebroadcast: boolean): void {
    this.clock.witness(record.ltime);
    if (record.owner === this.self) return this.applyOwnEcho(network, record);
    if (this.peers.isReaped(record.owner)) {
      this.counters.staleEntriesIgnored += 1;
      return;
    }
    const attachment = this.attachments.get(record.owner, network);
    if (attachment !== undefined && (attachment.ltime > record.ownerJoin || (attachment.ltime === record.ownerJoin && !attachment.joined))) {
      this.counters.staleEntriesIgnored += 1;
      return;
    }
    if (attachment === undefined || attachment.ltime < record.ownerJoin) {
      // The entry proves its owner joined at `ownerJoin`: learn that before the record arrives.
      this.adoptAttachment({ node: record.owner, network, ltime: record.ownerJoin, joined: true });
    }
    const current = this.entries.get(network, record.table, record.key);
    if (current !== undefined && !supersedes(record, current)) {
      if (current.ltime !== record.ltime || current.owner !== record.owner) this.counters.staleEntriesIgnored += 1;
      return;
    }
    const entry = this.stored(network, record);
    this.replace(current, entry);
    this.counters.entriesApplied += 1;
    this.peers.noteSeen(record.owner, this.now);
    if (rebroadcast) this.queueEvent(entry);
  }

  /**
   * A version of one of this node's own entries came back from the network. If it is newer
   * than what this node holds, it was written in an earlier life of this node (before a
   * restart) or revived after being reaped: this node rewrites its true state over it.
   */
  private applyOwnEcho(network: string, record: EntryRecord): void {
    const join = this.attachments.get(this.self, network);
    if (join === undefined || !join.joined) return;
    if (record.ownerJoin > join.ltime) return this.reassertAttachment(network);
    const current = this.entries.get(network, record.table, record.key);
    if (record.ownerJoin < join.ltime || (current !== undefined && !supersedes(record, current))) {
      this.counters.staleEntriesIgnored += 1;
      return;
    }
    const ownLive = current !== undefined && current.owner === this.self && current.reapAt === null ? current : undefined;
    if (ownLive !== undefined) this.writeOwn(network, record.table, record.key, ownLive.value, false);
    else if (record.reapIn === null) this.writeOwn(network, record.table, record.key, new Uint8Array(), true);
    else this.replace(current, this.stored(network, record));
  }

  private stored(network: string, record: EntryRecord): StoredEntry {
    return {
      network,
      table: record.table,
      key: record.key,
      owner: record.owner,
      ltime: record.ltime,
      ownerJoin: record.ownerJoin,
      value: record.value,
      reapAt: record.reapIn === null ? null : this.now + record.reapIn,
    };
  }

  /** Puts `next` in the store in place of `previous`, telling watchers what readers now see. */
  private replace(previous: StoredEntry | undefined, next: StoredEntry): void {
    const before = previous === undefined ? undefined : this.view(previous);
    this.entries.set(next);
    this.watchers.change(before, this.view(next));
  }

  private remove(entry: StoredEntry): void {
    const before = this.view(entry);
    this.entries.delete(entry.network, entry.table, entry.key);
    this.watchers.change(before, undefined);
  }

  /** What readers see of `entry`: nothing for tombstones and for entries of unreachable owners. */
  private view(entry: StoredEntry): EntryView | undefined {
    if (entry.reapAt !== null) return undefined;
    if (entry.owner !== this.self && !this.peers.isAlive(entry.owner)) return undefined;
    return { network: entry.network, table: entry.table, key: entry.key, owner: entry.owner, ltime: entry.ltime, value: entry.value };
  }

  private queueEvent(entry: StoredEntry): void {
    this.joined.get(entry.network)?.queue.enqueue(`${entry.table} ${entry.key}`, encodeEntry(this.entryRecord(entry)));
  }

  private entryRecord(entry: StoredEntry): EntryRecord {
    return {
      table: entry.table,
      key: entry.key,
      owner: entry.owner,
      ltime: entry.ltime,
      ownerJoin: entry.ownerJoin,
      value: entry.value,
      reapIn: entry.reapAt === null ? null : Math.max(0, entry.reapAt - this.now),
    };
  }

  // ---- Attachments -----------------------------------------------------------------------

  private mergeAttachments(records: readonly AttachmentRecord[], rebroadcast: boolean): void {
    for (const record of records) {
      this.clock.witness(record.ltime);
      if (record.node === this.self) {
        this.checkOwnAttachment(record);
        continue;
      }
      const current = this.attachments.get(record.node, record.network);
      if ((current !== undefined && current.ltime >= record.ltime) || this.peers.isReaped(record.node)) continue;
      this.adoptAttachment(record);
      if (rebroadcast) this.announce(record);
    }
  }

  /** A record about this node: if it is newer than this node's own, restate the truth over it. */
  private checkOwnAttachment(record: AttachmentRecord): void {
    const own = this.attachments.get(this.self, record.network);
    if (own !== undefined && own.ltime >= record.ltime) return;
    if (!record.joined && !this.joined.has(record.network)) this.storeAttachment(record);
    else this.reassertAttachment(record.network);
  }

  /**
   * Announces this node's actual attachment to `network` at a fresh Lamport time. When
   * attached, its live entries there are rewritten under the new join (older ones would be
   * rejected as belonging to a past attachment) and its tombstones there are dropped.
   */
  private reassertAttachment(network: string): void {
    const record: AttachmentRecord = { node: this.self, network, ltime: this.clock.tick(), joined: this.joined.has(network) };
    this.storeAttachment(record);
    this.announce(record);
    if (!record.joined) return;
    for (const entry of this.entries.ofNetwork(network)) {
      if (entry.owner !== this.self) continue;
      if (entry.reapAt === null) this.writeOwn(network, entry.table, entry.key, entry.value, false);
      else this.entries.delete(network, entry.table, entry.key);
    }
  }

  /** Stores a newer record about another node and drops its entries the record makes stale. */
  private adoptAttachment(record: AttachmentRecord): void {
    this.storeAttachment(record);
    this.peers.noteSeen(record.node, this.now);
    for (const entry of this.entries.ofOwner(record.node)) {
      if (entry.network === record.network && (!record.joined || entry.ownerJoin < record.ltime)) this.remove(entry);
    }
  }

  private storeAttachment(record: AttachmentRecord): void {
    this.attachments.set(record, record.joined ? null : this.now + this.config.entryReapTimeout);
  }

  /** Queues `record` for cluster-wide broadcast, replacing an older one about the same attachment. */
  private announce(record: AttachmentRecord): void {
    this.clusterQueue.enqueue(`${record.node} ${record.network}`, encodeMessage({ type: "attachments", records: [attachmentRecord(record)] }));
  }

  /**
   * A network-scoped message arrived for a network this node is not attached to: the sender
   * believes otherwise, so it gets a fresh leave record that supersedes whatever it holds.
   */
  private rejectNotAttached(from: string, network: string): void {
    this.counters.notAttachedDropped += 1;
    const record: AttachmentRecord = { node: this.self, network, ltime: this.clock.tick(), joined: false };
    this.storeAttachment(record);
    this.send(from, null, "packet", encodeMessage({ type: "attachments", records: [record] }));
  }

  // ---- Membership --------------------------------------------------------------------------

  private setUnreachable(node: string, status: PeerStatus): void {
    const owned = this.entries.ofOwner(node).map((entry) => [entry, this.view(entry)] as const);
    const previous = this.peers.get(node);
    if (previous?.status === status) return;
    this.peers.set(node, status, this.now);
    for (const [entry, before] of owned) this.watchers.change(before, this.view(entry));
  }

  private livePeers(network: string): string[] {
    return this.attachments.attachedTo(network).filter((node) => node !== this.self && this.peers.isAlive(node));
  }

  // ---- Gossip and bulk sync ----------------------------------------------------------------

  /** Sends each network's queued table events to `gossipFanout` random live peers on it. */
  private gossipRound(): void {
    for (const [network, state] of this.joined) {
      if (state.queue.size === 0) continue;
      const peers = this.livePeers(network);
      if (peers.length === 0) continue;
      // Room for the events list header; each event also pays its byte-string header.
      const budget = this.config.maxMessageBytes - encodeGossip(this.self, network, []).length - 4;
      for (const peer of this.random.shuffle(peers).slice(0, this.config.gossipFanout)) {
        const events = state.queue.take(byteStringHeader, budget, this.retransmitNodes(peers.length + 1));
        if (events.length === 0) break;
        this.counters.gossipMessagesSent += 1;
        this.send(peer, network, "packet", encodeGossip(this.self, network, events));
      }
    }
  }

  /**
   * The node count to size retransmissions by: the network's, raised so that the queue's
   * `retransmitMult × ceil(log10(n + 1))` reaches `minRetransmits`.
   */
  private retransmitNodes(nodes: number): number {
    const logRounds = Math.ceil(this.config.minRetransmits / this.config.retransmitMult);
    return Math.max(nodes, 10 ** (logRounds - 1));
  }

  /** Starts a bulk sync of `network` when one is needed (join, lost peers, timer) and a peer is up. */
  private syncIfDue(network: string): void {
    const state = this.joined.get(network);
    if (state === undefined) return;
    const peers = this.livePeers(network);
    const periodicDue = this.now >= state.nextPeriodicSync;
    if (periodicDue) state.nextPeriodicSync = this.now + this.config.bulkSyncInterval;
    if (peers.length === 0) {
      state.syncNeeded = true;
      state.syncRequestedAt = null;
      return;
    }
    const retryDue = state.syncNeeded && (state.syncRequestedAt === null || this.now - state.syncRequestedAt >= this.config.bulkSyncTimeout);
    if (!retryDue && !periodicDue) return;
    if (state.syncNeeded) state.syncRequestedAt = this.now;
    this.sendBulkSync(network, peers[this.random.int(peers.length)] as string, true);
  }

  private syncCompleted(network: string): void {
    const state = this.joined.get(network);
    if (state === undefined) return;
    state.syncNeeded = false;
    state.syncRequestedAt = null;
  }

  private mergeBulkSync(from: string, network: string, attachments: readonly AttachmentRecord[], entries: readonly EntryRecord[]): void {
    // The sender's own records are news worth spreading (it may be back after being
    // forgotten); records about third parties are merged quietly, as push-pull state is.
    this.mergeAttachments(attachments.filter((record) => record.node === from), true);
    this.mergeAttachments(attachments.filter((record) => record.node !== from), false);
    for (const entry of entries) this.applyRemote(network, entry, true);
  }

  /**
   * Sends this node's whole state of `network` to `to`: attachment records and every stored
   * entry (tombstones and entries of failed owners too, so they stay fresh), in parts of at
   * most `maxBulkSyncBytes`.
   */
  private sendBulkSync(network: string, to: string, reply: boolean): void {
    const attachments = this.attachments.ofNetwork(network).map(attachmentRecord);
    const entries = this.entries.ofNetwork(network).map((entry) => this.entryRecord(entry));
    for (const bytes of packBulkSync({ from: this.self, network, reply }, attachments, entries, this.config.maxBulkSyncBytes)) {
      this.counters.bulkSyncsSent += 1;
      this.send(to, network, "stream", bytes);
    }
  }

  private send(to: string, network: string | null, transport: OutboundMessage["transport"], bytes: Uint8Array): void {
    this.counters.bytesSent += bytes.length;
    this.outbox.push({ to, network, transport, bytes });
  }

  // ---- Reaping -----------------------------------------------------------------------------

  /** Forgets expired tombstones and leave records, and the state of nodes gone too long. */
  private reap(): void {
    for (const entry of this.entries.where((candidate) => candidate.reapAt !== null && candidate.reapAt <= this.now)) {
      this.entries.delete(entry.network, entry.table, entry.key);
    }
    this.attachments.reap(this.now);
    this.peers.forgetReapedBefore(this.now - this.config.entryReapTimeout);
    for (const node of this.peers.goneSince(this.now - this.config.nodeReapTimeout)) {
      for (const entry of this.entries.ofOwner(node)) this.remove(entry);
      this.attachments.removeNode(node);
      // Peers that reap a little later still hold copies; refuse them until the node is back.
      this.peers.set(node, "reaped", this.now);
    }
  }

  // ---- Decoding ----------------------------------------------------------------------------

  private decode(bytes: Uint8Array): NetworkDbMessage | undefined {
    this.counters.messagesReceived += 1;
    if (bytes.length > this.config.maxBulkSyncBytes) {
      this.malformed();
      return undefined;
    }
    try {
      return decodeMessage(bytes, this.limits);
    } catch (error) {
      if (!(error instanceof DecodeError)) throw error;
      this.malformed();
      return undefined;
    }
  }

  private malformed(): void {
    this.counters.malformedDropped += 1;
  }
}

/** Most bytes CBOR spends on the header of a byte string up to 64 KiB. */
const byteStringHeader = 3;

function attachmentRecord(record: AttachmentRecord): AttachmentRecord {
  return { node: record.node, network: record.network, ltime: record.ltime, joined: record.joined };
}

function checkName(value: string, what: string): void {
  if (!isValidName(value)) throw new NetworkDbError("networkdb_invalid_name", `${what} must be 1-128 printable ASCII characters`, { [what]: value });
}
