/**
 * Attachment (join and leave) records: merging the ones peers send, announcing this node's
 * own cluster-wide, and restating this node's truth when the network holds a newer claim
 * about it than it does itself.
 */
import { encodeMessage } from "./codec.ts";
import { remove, send, writeOwn, type NetworkDbState } from "./state.ts";
import type { AttachmentRecord } from "./types.ts";

/** Merges records from a peer; records that changed this node's view are re-broadcast when `rebroadcast`. */
export function mergeAttachments(db: NetworkDbState, records: readonly AttachmentRecord[], rebroadcast: boolean): void {
  for (const record of records) {
    db.clock.witness(record.ltime);
    if (record.node === db.self) {
      checkOwnAttachment(db, record);
      continue;
    }
    const current = db.attachments.get(record.node, record.network);
    if ((current !== undefined && current.ltime >= record.ltime) || db.peers.isReaped(record.node)) continue;
    adoptAttachment(db, record);
    if (rebroadcast) announce(db, record);
  }
}

/** A record about this node: if it is newer than this node's own, restate the truth over it. */
function checkOwnAttachment(db: NetworkDbState, record: AttachmentRecord): void {
  const own = db.attachments.get(db.self, record.network);
  if (own !== undefined && own.ltime >= record.ltime) return;
  if (!record.joined && !db.joined.has(record.network)) storeAttachment(db, record);
  else reassertAttachment(db, record.network);
}

/**
 * Announces this node's actual attachment to `network` at a fresh Lamport time. When
 * attached, its live entries there are rewritten under the new join (older ones would be
 * rejected as belonging to a past attachment) and its tombstones there are dropped.
 */
export function reassertAttachment(db: NetworkDbState, network: string): void {
  const record = announceOwnAttachment(db, network, db.joined.has(network));
  if (!record.joined) return;
  for (const entry of db.entries.ofNetwork(network)) {
    if (entry.owner !== db.self) continue;
    if (entry.reapAt === null) writeOwn(db, network, entry.table, entry.key, entry.value, false);
    else db.entries.delete(network, entry.table, entry.key);
  }
}

/** Records this node's join (or leave) of `network` at a fresh Lamport time and announces it cluster-wide. */
export function announceOwnAttachment(db: NetworkDbState, network: string, joined: boolean): AttachmentRecord {
  const record: AttachmentRecord = { node: db.self, network, ltime: db.clock.tick(), joined };
  storeAttachment(db, record);
  announce(db, record);
  return record;
}

/** Stores a newer record about another node and drops its entries the record makes stale. */
export function adoptAttachment(db: NetworkDbState, record: AttachmentRecord): void {
  storeAttachment(db, record);
  db.peers.noteSeen(record.node, db.now);
  for (const entry of db.entries.ofOwner(record.node)) {
    if (entry.network === record.network && (!record.joined || entry.ownerJoin < record.ltime)) remove(db, entry);
  }
}

/** Stores `record`; a leave record is kept until `entryReapTimeout` from now. */
function storeAttachment(db: NetworkDbState, record: AttachmentRecord): void {
  db.attachments.set(record, record.joined ? null : db.now + db.config.entryReapTimeout);
}

/** Queues `record` for cluster-wide broadcast, replacing an older one about the same attachment. */
function announce(db: NetworkDbState, record: AttachmentRecord): void {
  db.clusterQueue.enqueue(`${record.node} ${record.network}`, encodeMessage({ type: "attachments", records: [attachmentRecord(record)] }));
}

/**
 * A network-scoped message arrived for a network this node is not attached to: the sender
 * believes otherwise, so it gets a fresh leave record that supersedes whatever it holds.
 */
export function rejectNotAttached(db: NetworkDbState, from: string, network: string): void {
  db.counters.notAttachedDropped += 1;
  const record: AttachmentRecord = { node: db.self, network, ltime: db.clock.tick(), joined: false };
  storeAttachment(db, record);
  send(db, from, null, "packet", encodeMessage({ type: "attachments", records: [record] }));
}

/** The wire form of a record: its four fields and nothing a stored copy adds. */
export function attachmentRecord(record: AttachmentRecord): AttachmentRecord {
  return { node: record.node, network: record.network, ltime: record.ltime, joined: record.joined };
}
