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
 *
 * This class is the API and the sequencing; the rules live beside it: `apply.ts` (entry
 * versions from the wire), `joins.ts` (attachment records), `sync.ts` (gossip rounds and bulk
 * sync), all working on the node state and primitives of `state.ts`.
 */
import { DecodeError, ShoalError } from "../../common/errors.ts";
import type { Random } from "../../common/random.ts";
import { BroadcastQueue } from "../broadcast.ts";
import type { Delegate } from "../types.ts";
import { applyRemote } from "./apply.ts";
import { AttachmentTable } from "./attachments.ts";
import { decodeMessage, encodeMessage, isValidName, type DecodeLimits } from "./codec.ts";
import { resolveNetworkDbConfig, type NetworkDbConfig } from "./config.ts";
import { EntryStore } from "./entries.ts";
import { announceOwnAttachment, attachmentRecord, mergeAttachments, rejectNotAttached } from "./joins.ts";
import { LamportClock } from "./lamport.ts";
import { PeerTable } from "./peers.ts";
import { remove, send, view, writeOwn, type NetworkDbState } from "./state.ts";
import { gossipRound, mergeBulkSync, sendBulkSync, syncCompleted, syncIfDue } from "./sync.ts";
import type { EntryView, NetworkDbMessage, NetworkDbStats, OutboundMessage, PeerStatus, WatchEvent, WatchFilter } from "./types.ts";
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
  private readonly db: NetworkDbState;
  private readonly limits: DecodeLimits;
  private nextGossipAt: number;
  private nextReapAt: number;

  constructor(options: NetworkDbOptions) {
    if (!isValidName(options.self)) throw new NetworkDbError("networkdb_invalid_name", "node name must be 1-128 printable ASCII characters", { node: options.self });
    this.config = resolveNetworkDbConfig(options.config);
    this.self = options.self;
    const counters = {
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
    this.db = {
      config: this.config,
      self: this.self,
      random: options.random,
      now: options.now,
      clock: new LamportClock(),
      attachments: new AttachmentTable(),
      entries: new EntryStore(),
      peers: new PeerTable(),
      watchers: new Watchers((error, event) => {
        counters.listenerErrors += 1;
        options.onListenerError?.(error, event);
      }),
      joined: new Map(),
      clusterQueue: new BroadcastQueue(this.config.retransmitMult),
      outbox: [],
      counters,
    };
    this.limits = { maxValueBytes: this.config.maxValueBytes, maxReapInMs: this.config.entryReapTimeout };
    this.nextGossipAt = this.db.now + this.config.gossipInterval;
    this.nextReapAt = this.db.now + this.config.reapInterval;
  }

  // ---- Local API -------------------------------------------------------------------------

  /** Attaches this node to `network`: announces it cluster-wide and bulk-syncs from a peer. */
  joinNetwork(network: string): void {
    checkName(network, "network");
    if (this.db.joined.has(network)) return;
    announceOwnAttachment(this.db, network, true);
    this.db.joined.set(network, {
      queue: new BroadcastQueue(this.config.retransmitMult),
      syncNeeded: true,
      syncRequestedAt: null,
      nextPeriodicSync: this.db.now + this.db.random.int(this.config.bulkSyncInterval) + 1,
    });
    syncIfDue(this.db, network);
    this.db.watchers.flush();
  }

  /** Detaches this node from `network`: others drop its entries there; it forgets the network's tables. */
  leaveNetwork(network: string): void {
    if (!this.db.joined.has(network)) return;
    announceOwnAttachment(this.db, network, false);
    this.db.joined.delete(network);
    for (const entry of this.db.entries.ofNetwork(network)) remove(this.db, entry);
    this.db.watchers.flush();
  }

  /** Writes a new entry owned by this node; fails if a visible entry holds the key. */
  createEntry(network: string, table: string, key: string, value: Uint8Array): void {
    this.checkWrite(network, table, key, value);
    const existing = this.db.entries.get(network, table, key);
    if (existing !== undefined && view(this.db, existing) !== undefined) {
      throw new NetworkDbError("networkdb_entry_exists", `entry ${table}/${key} already exists on network ${network}`, { network, table, key, owner: existing.owner });
    }
    writeOwn(this.db, network, table, key, value, false);
    this.db.watchers.flush();
  }

  /** Replaces the value of an entry this node owns. */
  updateEntry(network: string, table: string, key: string, value: Uint8Array): void {
    this.checkWrite(network, table, key, value);
    this.requireOwnLive(network, table, key);
    writeOwn(this.db, network, table, key, value, false);
    this.db.watchers.flush();
  }

  /** Deletes an entry this node owns, leaving a tombstone until `entryReapTimeout`. */
  deleteEntry(network: string, table: string, key: string): void {
    this.checkWrite(network, table, key, new Uint8Array());
    this.requireOwnLive(network, table, key);
    writeOwn(this.db, network, table, key, new Uint8Array(), true);
    this.db.watchers.flush();
  }

  /** The visible entry at (network, table, key), if any. */
  get(network: string, table: string, key: string): EntryView | undefined {
    const entry = this.db.entries.get(network, table, key);
    return entry === undefined ? undefined : view(this.db, entry);
  }

  /** The visible entries of `network` (of one table when given), in no particular order. */
  list(network: string, table?: string): EntryView[] {
    const views: EntryView[] = [];
    for (const entry of this.db.entries.ofNetwork(network)) {
      if (table !== undefined && entry.table !== table) continue;
      const visible = view(this.db, entry);
      if (visible !== undefined) views.push(visible);
    }
    return views;
  }

  /**
   * Subscribes to create/update/delete events of a network (or one of its tables); by
   * default the entries visible now are delivered first as creates. Returns the cancel function.
   */
  watch(filter: WatchFilter, listener: WatchListener): () => void {
    const current = filter.replay === false ? [] : this.list(filter.network, filter.table);
    return this.db.watchers.add(filter, listener, current);
  }

  /** Networks this node is attached to. */
  networks(): string[] {
    return [...this.db.joined.keys()];
  }

  /** Nodes known to be attached to `network` and alive (this node included when attached). */
  nodes(network: string): string[] {
    return this.db.attachments.attachedTo(network).filter((node) => node === this.self || this.db.peers.isAlive(node));
  }

  /** A snapshot of the counters and of how many entries are visible, hidden and deleted. */
  stats(): NetworkDbStats {
    let visibleEntries = 0;
    let hiddenEntries = 0;
    let tombstones = 0;
    for (const entry of this.db.entries.where(() => true)) {
      if (entry.reapAt !== null) tombstones += 1;
      else if (view(this.db, entry) === undefined) hiddenEntries += 1;
      else visibleEntries += 1;
    }
    return { ...this.db.counters, visibleEntries, hiddenEntries, tombstones };
  }

  // ---- Membership input ------------------------------------------------------------------

  /**
   * Membership reports `node` alive (joined, or refuted a failure). Its hidden entries
   * reappear; it is sent this node's own attachment records (it may have forgotten them while
   * apart), and if it was failed or gone, every shared network is bulk-synced with it at once.
   */
  memberAlive(node: string): void {
    if (node === this.self) return;
    const previous = this.db.peers.get(node);
    if (previous?.status === "alive") return;
    this.setPeerStatus(node, "alive");
    const own = this.db.attachments.ofNode(this.self).map(attachmentRecord);
    if (own.length > 0) {
      const bytes = encodeMessage({ type: "attachments", records: own });
      send(this.db, node, null, bytes.length <= this.config.maxMessageBytes ? "packet" : "stream", bytes);
    }
    if (previous !== undefined && previous.status !== "unknown") {
      for (const network of this.db.joined.keys()) if (this.db.attachments.isAttached(node, network)) sendBulkSync(this.db, network, node, true);
    }
    this.db.watchers.flush();
  }

  /** Membership declared `node` dead: its entries are hidden (kept) until it returns or is reaped. */
  memberFailed(node: string): void {
    if (node === this.self) return;
    this.setUnreachable(node, "failed");
    this.db.watchers.flush();
  }

  /** `node` left the cluster gracefully: its entries and attachments are dropped now. */
  memberLeft(node: string): void {
    if (node === this.self) return;
    this.setUnreachable(node, "left");
    for (const entry of this.db.entries.ofOwner(node)) remove(this.db, entry);
    this.db.attachments.removeNode(node);
    this.db.watchers.flush();
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
        mergeAttachments(this.db, message.records, true);
        break;
      case "gossip":
        if (!this.db.joined.has(message.network)) return rejectNotAttached(this.db, message.from, message.network);
        for (const event of message.events) applyRemote(this.db, message.network, event, true);
        break;
      case "bulk":
        if (!this.db.joined.has(message.network)) return rejectNotAttached(this.db, message.from, message.network);
        mergeBulkSync(this.db, message.from, message.network, message.attachments, message.entries);
        if (message.reply) sendBulkSync(this.db, message.network, message.from, false);
        else syncCompleted(this.db, message.network);
        break;
    }
    this.db.watchers.flush();
  }

  /** Attachment records to piggyback on membership gossip, within `limit` bytes. */
  getBroadcasts(overhead: number, limit: number): Uint8Array[] {
    return this.db.clusterQueue.take(overhead, limit, this.db.peers.aliveCount() + 1);
  }

  /** Every attachment record this node knows, for a membership push-pull. */
  localState(): Uint8Array {
    return encodeMessage({ type: "attachments", records: this.db.attachments.all().map(attachmentRecord) });
  }

  /** Merges a peer's attachment records from a push-pull (not re-broadcast: it is bulk state). */
  mergeRemoteState(state: Uint8Array): void {
    const message = this.decode(state);
    if (message === undefined) return;
    if (message.type !== "attachments") return this.malformed();
    mergeAttachments(this.db, message.records, false);
    this.db.watchers.flush();
  }

  // ---- Time ------------------------------------------------------------------------------

  /** Advances time to `now`: gossips queued events, runs due bulk syncs and reaps. */
  tick(now: number): void {
    if (now > this.db.now) this.db.now = now;
    if (this.db.now >= this.nextGossipAt) {
      gossipRound(this.db);
      this.nextGossipAt = this.db.now + this.config.gossipInterval;
    }
    for (const network of this.db.joined.keys()) syncIfDue(this.db, network);
    if (this.db.now >= this.nextReapAt) {
      this.reap();
      this.nextReapAt = this.db.now + this.config.reapInterval;
    }
    this.db.watchers.flush();
  }

  /** The next time `tick` has work to do; the shell may sleep until then. */
  nextDeadline(): number {
    let deadline = Math.min(this.nextGossipAt, this.nextReapAt);
    for (const state of this.db.joined.values()) {
      deadline = Math.min(deadline, state.nextPeriodicSync);
      if (state.syncNeeded) deadline = Math.min(deadline, (state.syncRequestedAt ?? this.db.now) + this.config.bulkSyncTimeout);
    }
    return deadline;
  }

  /** Messages produced since the last call, for the shell to deliver. */
  takeOutbox(): OutboundMessage[] {
    const messages = this.db.outbox;
    this.db.outbox = [];
    return messages;
  }

  // ---- Local write checks ------------------------------------------------------------------

  private checkWrite(network: string, table: string, key: string, value: Uint8Array): void {
    checkName(table, "table");
    checkName(key, "key");
    if (!this.db.joined.has(network)) throw new NetworkDbError("networkdb_not_attached", `not attached to network ${network}`, { network });
    if (value.length > this.config.maxValueBytes) {
      throw new NetworkDbError("networkdb_value_too_large", `entry value of ${value.length} bytes exceeds maxValueBytes (${this.config.maxValueBytes})`, { network, table, key });
    }
  }

  private requireOwnLive(network: string, table: string, key: string): void {
    const entry = this.db.entries.get(network, table, key);
    if (entry === undefined || entry.reapAt !== null) {
      throw new NetworkDbError("networkdb_entry_missing", `no entry ${table}/${key} on network ${network}`, { network, table, key });
    }
    if (entry.owner !== this.self) {
      throw new NetworkDbError("networkdb_not_owner", `entry ${table}/${key} on network ${network} is owned by ${entry.owner}`, { network, table, key, owner: entry.owner });
    }
  }

  // ---- Membership --------------------------------------------------------------------------

  private setUnreachable(node: string, status: PeerStatus): void {
    if (this.db.peers.get(node)?.status === status) return;
    this.setPeerStatus(node, status);
  }

  /** Records `node`'s new status and reports each of its entries whose visibility that changes. */
  private setPeerStatus(node: string, status: PeerStatus): void {
    const owned = this.db.entries.ofOwner(node).map((entry) => [entry, view(this.db, entry)] as const);
    this.db.peers.set(node, status, this.db.now);
    for (const [entry, before] of owned) this.db.watchers.change(before, view(this.db, entry));
  }

  // ---- Reaping -----------------------------------------------------------------------------

  /** Forgets expired tombstones and leave records, and the state of nodes gone too long. */
  private reap(): void {
    for (const entry of this.db.entries.where((candidate) => candidate.reapAt !== null && candidate.reapAt <= this.db.now)) {
      this.db.entries.delete(entry.network, entry.table, entry.key);
    }
    this.db.attachments.reap(this.db.now);
    this.db.peers.forgetReapedBefore(this.db.now - this.config.entryReapTimeout);
    for (const node of this.db.peers.goneSince(this.db.now - this.config.nodeReapTimeout)) {
      for (const entry of this.db.entries.ofOwner(node)) remove(this.db, entry);
      this.db.attachments.removeNode(node);
      // Peers that reap a little later still hold copies; refuse them until the node is back.
      this.db.peers.set(node, "reaped", this.db.now);
    }
  }

  // ---- Decoding ----------------------------------------------------------------------------

  private decode(bytes: Uint8Array): NetworkDbMessage | undefined {
    this.db.counters.messagesReceived += 1;
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
    this.db.counters.malformedDropped += 1;
  }
}

function checkName(value: string, what: string): void {
  if (!isValidName(value)) throw new NetworkDbError("networkdb_invalid_name", `${what} must be 1-128 printable ASCII characters`, { [what]: value });
}
