/**
 * Applying entry versions that arrive from the network: a version from a past attachment, a
 * reaped owner or older than the stored one is ignored; a version of this node's own entry
 * that is newer than its own is overwritten with the truth.
 */
import { supersedes, type StoredEntry } from "./entries.ts";
import { adoptAttachment, reassertAttachment } from "./joins.ts";
import { queueEvent, replace, writeOwn, type NetworkDbState } from "./state.ts";
import type { EntryRecord } from "./types.ts";

/**
 * Applies one entry version from the wire. Returns silently when it is stale; queues it
 * for gossip when `rebroadcast` and it changed this node's state.
 */
export function applyRemote(db: NetworkDbState, network: string, record: EntryRecord, rebroadcast: boolean): void {
  db.clock.witness(record.ltime);
  if (record.owner === db.self) return applyOwnEcho(db, network, record);
  if (db.peers.isReaped(record.owner)) {
    db.counters.staleEntriesIgnored += 1;
    return;
  }
  const attachment = db.attachments.get(record.owner, network);
  if (attachment !== undefined && (attachment.ltime > record.ownerJoin || (attachment.ltime === record.ownerJoin && !attachment.joined))) {
    db.counters.staleEntriesIgnored += 1;
    return;
  }
  if (attachment === undefined || attachment.ltime < record.ownerJoin) {
    // The entry proves its owner joined at `ownerJoin`: learn that before the record arrives.
    adoptAttachment(db, { node: record.owner, network, ltime: record.ownerJoin, joined: true });
  }
  const current = db.entries.get(network, record.table, record.key);
  if (current !== undefined && !supersedes(record, current)) {
    if (current.ltime !== record.ltime || current.owner !== record.owner) db.counters.staleEntriesIgnored += 1;
    return;
  }
  const entry = stored(db, network, record);
  replace(db, current, entry);
  db.counters.entriesApplied += 1;
  db.peers.noteSeen(record.owner, db.now);
  if (rebroadcast) queueEvent(db, entry);
}

/**
 * A version of one of this node's own entries came back from the network. If it is newer
 * than what this node holds, it was written in an earlier life of this node (before a
 * restart) or revived after being reaped: this node rewrites its true state over it.
 */
function applyOwnEcho(db: NetworkDbState, network: string, record: EntryRecord): void {
  const join = db.attachments.get(db.self, network);
  if (join === undefined || !join.joined) return;
  if (record.ownerJoin > join.ltime) return reassertAttachment(db, network);
  const current = db.entries.get(network, record.table, record.key);
  if (record.ownerJoin < join.ltime || (current !== undefined && !supersedes(record, current))) {
    db.counters.staleEntriesIgnored += 1;
    return;
  }
  const ownLive = current !== undefined && current.owner === db.self && current.reapAt === null ? current : undefined;
  if (ownLive !== undefined) writeOwn(db, network, record.table, record.key, ownLive.value, false);
  else if (record.reapIn === null) writeOwn(db, network, record.table, record.key, new Uint8Array(), true);
  else replace(db, current, stored(db, network, record));
}

/** The stored form of a wire version, its reap time made absolute. */
function stored(db: NetworkDbState, network: string, record: EntryRecord): StoredEntry {
  return {
    network,
    table: record.table,
    key: record.key,
    owner: record.owner,
    ltime: record.ltime,
    ownerJoin: record.ownerJoin,
    value: record.value,
    reapAt: record.reapIn === null ? null : db.now + record.reapIn,
  };
}
