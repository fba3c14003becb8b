/**
 * NetworkDB vocabulary: entries, network attachments, wire messages, watch events, outbox.
 *
 * A network's tables hold entries keyed by (table, key). Every entry has one owner (the node
 * that wrote it) and a Lamport time; the newest (ltime, owner) wins. Which node is attached to
 * which network is the only thing that spreads cluster-wide; entries travel only between
 * nodes attached to their network.
 */

/** One version of an entry as it travels on the wire (gossip or bulk sync). */
export interface EntryRecord {
  table: string;
  key: string;
  /** The node that wrote this version; only it ever writes newer versions of its entries. */
  owner: string;
  /** Lamport time of this version. */
  ltime: number;
  /**
   * Lamport time of the owner's join of the network this entry was written under. Ties the
   * entry to one attachment of its owner: once the owner leaves (or re-joins later), every
   * node can tell this entry belongs to the past and reject it wherever it comes from.
   */
  ownerJoin: number;
  /** The payload (an empty array for tombstones). */
  value: Uint8Array;
  /** For a tombstone, how long it is still kept (ms); `null` for a live entry. */
  reapIn: number | null;
}

/** A node's attachment to a network, or its departure from it, at a Lamport time. */
export interface AttachmentRecord {
  node: string;
  network: string;
  ltime: number;
  /** true: the node joined the network; false: it left. */
  joined: boolean;
}

/** Table events for one network, packed into one datagram. */
export interface GossipMessage {
  type: "gossip";
  /** The sending node (messages name their sender so any transport can carry them). */
  from: string;
  network: string;
  events: EntryRecord[];
}

/**
 * Anti-entropy for one network: the sender's view of who is attached to it and every entry it
 * holds for it, tombstones and entries of failed nodes included. `reply` asks for the
 * receiver's own state back.
 */
export interface BulkSyncMessage {
  type: "bulk";
  /** The sending node, which a reply goes back to. */
  from: string;
  network: string;
  reply: boolean;
  attachments: AttachmentRecord[];
  entries: EntryRecord[];
}

/** Cluster-wide network membership: join/leave records (broadcasts and push-pull state). */
export interface AttachmentsMessage {
  type: "attachments";
  records: AttachmentRecord[];
}

/** Every message NetworkDB puts on the wire. */
export type NetworkDbMessage = GossipMessage | BulkSyncMessage | AttachmentsMessage;

/** A message for the shell to deliver. */
export interface OutboundMessage {
  /** Destination node. */
  to: string;
  /** The network the message is about; `null` only for cluster-wide attachment records. */
  network: string | null;
  /** `packet`: one datagram (gossip); `stream`: reliable and possibly large (bulk sync). */
  transport: "packet" | "stream";
  bytes: Uint8Array;
}

/** An entry as readers and watchers see it. */
export interface EntryView {
  network: string;
  table: string;
  key: string;
  owner: string;
  ltime: number;
  value: Uint8Array;
}

/** A change to what a reader sees: an entry appeared, changed or disappeared. */
export interface WatchEvent {
  kind: "create" | "update" | "delete";
  /** The entry after the change; for `delete`, the last version that was visible. */
  entry: EntryView;
}

/** What `watch` selects: one network, optionally one table of it. */
export interface WatchFilter {
  network: string;
  table?: string;
  /** Deliver the currently visible entries as `create` events first (default true). */
  replay?: boolean;
}

/**
 * How NetworkDB regards another node, as told by the membership layer. `unknown`: seen only
 * through its entries or records so far; `reaped`: gone so long its state was dropped, and
 * copies of that state still circulating are refused until it comes back.
 */
export type PeerStatus = "alive" | "failed" | "left" | "unknown" | "reaped";

/** Counters and gauges for `/metrics` and tests. */
export interface NetworkDbStats {
  /** Entries readers see now. */
  visibleEntries: number;
  /** Live entries kept but hidden because their owner is failed or not yet known alive. */
  hiddenEntries: number;
  /** Deleted entries kept until their reap time. */
  tombstones: number;
  messagesReceived: number;
  /** Dropped because they failed decoding or validation. */
  malformedDropped: number;
  /** Network-scoped messages for a network this node is not attached to. */
  notAttachedDropped: number;
  /** Entry versions rejected as older than what is known (or from a past attachment). */
  staleEntriesIgnored: number;
  entriesApplied: number;
  gossipMessagesSent: number;
  bulkSyncsSent: number;
  bytesSent: number;
  /** Exceptions thrown by watch listeners (each skipped, the rest delivered). */
  listenerErrors: number;
}
