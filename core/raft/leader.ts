/**
 * The leader side of replication: appending proposals, sending each peer the next batch of
 * entries (or a snapshot) according to its progress, advancing the commit index as
 * acknowledgements arrive, heartbeats, and the leader's checks on each election timeout.
 */
import { applyConfChange, confChangeProblem, decodeConfChange } from "./confchange.ts";
import { CompactedError, ProposalDroppedError, SnapshotTemporarilyUnavailableError } from "./errors.ts";
import type { ProposedEntry, Raft } from "./raft.ts";
import { confirmReads, leaderReadIndex, releasePendingReadIndex } from "./reads.ts";
import type { Progress } from "./progress.ts";
import { entriesSize } from "./size.ts";
import { SnapshotTransfer } from "./snapshot-transfer.ts";
import type { Entry, Message, NodeId, Snapshot } from "./types.ts";

/** The leader's message handling: forwarded proposals and reads, and peers' acknowledgements. */
export function stepLeader(raft: Raft, m: Message): void {
  if (m.type === "propose") {
    try {
      appendProposal(raft, m.entries);
    } catch (error) {
      if (!(error instanceof ProposalDroppedError)) throw error;
    }
    return;
  }
  if (m.type === "readIndex") {
    leaderReadIndex(raft, m);
    return;
  }
  const progress = raft.tracker.progress.get(m.from);
  if (progress === undefined || m.from === raft.id) return;
  switch (m.type) {
    case "appendResp":
      progress.recentActive = true;
      if (m.reject) handleAppendRejection(raft, progress, m);
      else handleAppendSuccess(raft, progress, m);
      return;
    case "heartbeatResp":
      progress.recentActive = true;
      progress.probeSent = false;
      if (progress.state === "replicate" && progress.inflights.full()) progress.inflights.freeFirstOne();
      if (progress.match < raft.log.lastIndex()) sendAppend(raft, m.from);
      if (m.context !== undefined && raft.config.readOnlyOption === "safe") confirmReads(raft, m.from, m.context);
      return;
    case "snapshotResp":
      progress.recentActive = true;
      if (progress.state !== "snapshot" || progress.transfer?.index !== m.index) return;
      progress.transfer.onResponse(m.rejectHint, m.reject);
      sendSnapshotChunks(raft, m.from);
      return;
    default:
      return;
  }
}

/** The leader's tick: heartbeats, and on each election timeout the quorum check, stalled snapshots and abandoned transfers. */
export function tickLeader(raft: Raft): void {
  raft.heartbeatElapsed++;
  raft.electionElapsed++;
  if (raft.electionElapsed >= raft.config.electionTicks) {
    raft.electionElapsed = 0;
    if (raft.config.checkQuorum) {
      if (!raft.tracker.quorumActive(raft.id)) {
        raft.becomeFollower(raft.term, "");
        return;
      }
      for (const [id, progress] of raft.tracker.progress) if (id !== raft.id) progress.recentActive = false;
    }
    for (const [id, progress] of raft.tracker.progress) {
      if (progress.state !== "snapshot" || progress.transfer === undefined) continue;
      progress.transfer.checkStalled();
      sendSnapshotChunks(raft, id);
    }
    raft.leadTransferee = undefined;
  }
  if (raft.heartbeatElapsed >= raft.config.heartbeatTicks) {
    raft.heartbeatElapsed = 0;
    bcastHeartbeat(raft, raft.readOnly.lastContext());
  }
}

/** Appends a client proposal to the leader's log and replicates it. Throws `ProposalDroppedError`. */
export function appendProposal(raft: Raft, entries: readonly ProposedEntry[]): void {
  if (entries.length === 0) return;
  if (!raft.tracker.isMember(raft.id)) throw new ProposalDroppedError("not_member", "this node was removed from the cluster");
  if (raft.leadTransferee !== undefined) {
    throw new ProposalDroppedError("transfer_in_progress", `leadership is moving to ${raft.leadTransferee}`, { to: raft.leadTransferee });
  }
  let conf = raft.tracker.conf();
  for (const [offset, entry] of entries.entries()) {
    if (entry.type !== "conf") continue;
    if (raft.pendingConfIndex > raft.log.applied) {
      throw new ProposalDroppedError("conf_change_pending", "a membership change (or the new leader's first entry) is not applied yet", {
        pending: raft.pendingConfIndex,
        applied: raft.log.applied,
      });
    }
    const change = decodeConfChange(entry.data);
    const problem = confChangeProblem(conf, change);
    if (problem !== undefined) throw new ProposalDroppedError("invalid_conf_change", problem, { change });
    conf = applyConfChange(conf, change);
    raft.pendingConfIndex = raft.log.lastIndex() + offset + 1;
  }
  const bytes = entries.reduce((sum, entry) => sum + entry.data.length, 0);
  const limit = raft.config.maxUncommittedEntriesBytes;
  if (limit > 0 && raft.uncommittedBytes > 0 && raft.uncommittedBytes + bytes > limit) {
    throw new ProposalDroppedError("uncommitted_limit", "too many uncommitted bytes; followers are not keeping up", { uncommitted: raft.uncommittedBytes, limit });
  }
  raft.uncommittedBytes += bytes;
  appendEntries(raft, entries);
  bcastAppend(raft);
}

/** Appends entries to the leader's own log in its current term. */
export function appendEntries(raft: Raft, entries: readonly ProposedEntry[]): void {
  const last = raft.log.lastIndex();
  raft.log.append(entries.map((entry, offset) => ({ term: raft.term, index: last + 1 + offset, type: entry.type, data: entry.data })));
}

/** Advances the commit index to what a quorum holds; returns whether it moved. */
export function maybeCommit(raft: Raft): boolean {
  if (!raft.log.maybeCommit(raft.tracker.committed(), raft.term)) return false;
  releasePendingReadIndex(raft);
  return true;
}

function handleAppendRejection(raft: Raft, progress: Progress, m: Message): void {
  // The follower's hint names its last entry whose term is <= the term we sent; skip
  // straight past everything of ours that cannot match it.
  const hint = m.logTerm > 0 ? raft.log.findConflictByTerm(m.rejectHint, m.logTerm).index : m.rejectHint;
  if (progress.maybeDecreaseTo(m.index, hint)) {
    if (progress.state === "replicate") progress.becomeProbe();
    sendAppend(raft, m.from);
  }
}

function handleAppendSuccess(raft: Raft, progress: Progress, m: Message): void {
  const wasPaused = progress.isPaused();
  const updated = progress.maybeUpdate(m.index);
  if (progress.state === "snapshot" && m.index >= (progress.transfer?.index ?? 0)) {
    // The snapshot landed (or was not needed). If the log was compacted past it meanwhile,
    // probing finds that out and starts another snapshot.
    progress.becomeProbe();
    if (progress.match + 1 >= raft.log.firstIndex()) progress.becomeReplicate();
  } else if (!updated) {
    return;
  } else if (progress.state === "probe") {
    progress.becomeReplicate();
  } else if (progress.state === "replicate") {
    progress.inflights.freeLE(m.index);
  }

  if (maybeCommit(raft)) bcastAppend(raft);
  else if (wasPaused) sendAppend(raft, m.from);
  // Keep the pipeline full: send as long as there are entries and room in flight.
  while (sendAppend(raft, m.from, false)) {
    // each call sends one message
  }
  if (m.from === raft.leadTransferee && progress.match === raft.log.lastIndex()) raft.send({ type: "timeoutNow", to: m.from });
}

/** Sends `to` the next batch of entries (or starts a snapshot); returns whether a message was sent. */
export function sendAppend(raft: Raft, to: NodeId, sendIfEmpty = true): boolean {
  const progress = raft.tracker.progress.get(to);
  if (progress === undefined || to === raft.id || progress.isPaused()) return false;
  const prevIndex = progress.next - 1;
  const prevTerm = raft.log.term(prevIndex);
  let entries: Entry[] | undefined;
  if (prevTerm !== undefined) {
    try {
      entries = raft.log.entriesFrom(progress.next, raft.config.maxSizePerMsg);
    } catch (error) {
      if (!(error instanceof CompactedError)) throw error;
    }
  }
  if (prevTerm === undefined || entries === undefined) return startSnapshot(raft, to);
  if (entries.length === 0 && !sendIfEmpty) return false;
  const bytes = entriesSize(entries);
  raft.send({ type: "append", to, index: prevIndex, logTerm: prevTerm, entries, commit: raft.log.committed });
  progress.sentEntries(entries.length, prevIndex + entries.length, bytes);
  return true;
}

function startSnapshot(raft: Raft, to: NodeId): boolean {
  const progress = raft.tracker.progress.get(to);
  // Only ship a snapshot to a follower that is answering.
  if (progress === undefined || !progress.recentActive) return false;
  let snapshot: Snapshot;
  try {
    snapshot = raft.log.snapshot();
  } catch (error) {
    if (error instanceof SnapshotTemporarilyUnavailableError) return false;
    throw error;
  }
  progress.becomeSnapshot(new SnapshotTransfer(snapshot, raft.config.maxSnapshotChunkBytes, raft.config.maxSnapshotChunksInFlight));
  sendSnapshotChunks(raft, to);
  return true;
}

function sendSnapshotChunks(raft: Raft, to: NodeId): void {
  const transfer = raft.tracker.progress.get(to)?.transfer;
  if (transfer === undefined) return;
  for (const chunk of transfer.nextChunks()) raft.send({ type: "snapshot", to, snapshotChunk: chunk });
}

/** Sends every peer whatever it is missing. */
export function bcastAppend(raft: Raft): void {
  for (const id of raft.tracker.progress.keys()) if (id !== raft.id) sendAppend(raft, id);
}

/** Sends every peer a heartbeat, carrying the read `context` a quorum should confirm, if any. */
export function bcastHeartbeat(raft: Raft, context: Uint8Array | undefined): void {
  for (const [id, progress] of raft.tracker.progress) {
    if (id === raft.id) continue;
    // Never vouch for a commit index beyond what the follower is known to hold.
    const commit = Math.min(progress.match, raft.log.committed);
    raft.send({ type: "heartbeat", to: id, commit, ...(context === undefined ? {} : { context }) });
  }
}
