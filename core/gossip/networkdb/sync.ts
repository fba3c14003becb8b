/**
 * Spreading a network's tables among its nodes: gossip rounds carry recent table events to a
 * few random peers; bulk syncs exchange a network's whole state with one peer, on join, after
 * the network had no live peer, and periodically.
 */
import { applyRemote } from "./apply.ts";
import { packBulkSync } from "./bulksync.ts";
import { encodeGossip } from "./codec.ts";
import { attachmentRecord, mergeAttachments } from "./joins.ts";
import { entryRecord, send, type NetworkDbState } from "./state.ts";
import type { AttachmentRecord, EntryRecord } from "./types.ts";

/** Most bytes CBOR spends on the header of a byte string up to 64 KiB. */
const byteStringHeader = 3;

/** Sends each network's queued table events to `gossipFanout` random live peers on it. */
export function gossipRound(db: NetworkDbState): void {
  for (const [network, state] of db.joined) {
    if (state.queue.size === 0) continue;
    const peers = livePeers(db, network);
    if (peers.length === 0) continue;
    // Room for the events list header; each event also pays its byte-string header.
    const budget = db.config.maxMessageBytes - encodeGossip(db.self, network, []).length - 4;
    for (const peer of db.random.shuffle(peers).slice(0, db.config.gossipFanout)) {
      const events = state.queue.take(byteStringHeader, budget, retransmitNodes(db, peers.length + 1));
      if (events.length === 0) break;
      db.counters.gossipMessagesSent += 1;
      send(db, peer, network, "packet", encodeGossip(db.self, network, events));
    }
  }
}

/**
 * The node count to size retransmissions by: the network's, raised so that the queue's
 * `retransmitMult × ceil(log10(n + 1))` reaches `minRetransmits`.
 */
function retransmitNodes(db: NetworkDbState, nodes: number): number {
  const logRounds = Math.ceil(db.config.minRetransmits / db.config.retransmitMult);
  return Math.max(nodes, 10 ** (logRounds - 1));
}

/** Starts a bulk sync of `network` when one is needed (join, lost peers, timer) and a peer is up. */
export function syncIfDue(db: NetworkDbState, network: string): void {
  const state = db.joined.get(network);
  if (state === undefined) return;
  const peers = livePeers(db, network);
  const periodicDue = db.now >= state.nextPeriodicSync;
  if (periodicDue) state.nextPeriodicSync = db.now + db.config.bulkSyncInterval;
  if (peers.length === 0) {
    state.syncNeeded = true;
    state.syncRequestedAt = null;
    return;
  }
  const retryDue = state.syncNeeded && (state.syncRequestedAt === null || db.now - state.syncRequestedAt >= db.config.bulkSyncTimeout);
  if (!retryDue && !periodicDue) return;
  if (state.syncNeeded) state.syncRequestedAt = db.now;
  sendBulkSync(db, network, peers[db.random.int(peers.length)] as string, true);
}

/** A bulk-sync reply for `network` arrived: no sync is outstanding any more. */
export function syncCompleted(db: NetworkDbState, network: string): void {
  const state = db.joined.get(network);
  if (state === undefined) return;
  state.syncNeeded = false;
  state.syncRequestedAt = null;
}

/** Merges one bulk-sync part from `from` about `network`. */
export function mergeBulkSync(db: NetworkDbState, from: string, network: string, attachments: readonly AttachmentRecord[], entries: readonly EntryRecord[]): void {
  // The sender's own records are news worth spreading (it may be back after being
  // forgotten); records about third parties are merged quietly, as push-pull state is.
  mergeAttachments(db, attachments.filter((record) => record.node === from), true);
  mergeAttachments(db, attachments.filter((record) => record.node !== from), false);
  for (const entry of entries) applyRemote(db, network, entry, true);
}

/**
 * Sends this node's whole state of `network` to `to`: attachment records and every stored
 * entry (tombstones and entries of failed owners too, so they stay fresh), in parts of at
 * most `maxBulkSyncBytes`.
 */
export function sendBulkSync(db: NetworkDbState, network: string, to: string, reply: boolean): void {
  const attachments = db.attachments.ofNetwork(network).map(attachmentRecord);
  const entries = db.entries.ofNetwork(network).map((entry) => entryRecord(db, entry));
  for (const bytes of packBulkSync({ from: db.self, network, reply }, attachments, entries, db.config.maxBulkSyncBytes)) {
    db.counters.bulkSyncsSent += 1;
    send(db, to, network, "stream", bytes);
  }
}

/** Live nodes other than this one attached to `network`. */
function livePeers(db: NetworkDbState, network: string): string[] {
  return db.attachments.attachedTo(network).filter((node) => node !== db.self && db.peers.isAlive(node));
}
