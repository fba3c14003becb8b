/**
 * The follower side of replication: accepting appends, heartbeats and snapshot chunks from the
 * leader of the current term, and answering so the leader can track this node's progress.
 */
import { hup } from "./elections.ts";
import type { Raft } from "./raft.ts";
import type { Message, NodeId, Snapshot } from "./types.ts";

/** A follower's message handling (vote requests are answered before the role dispatch). */
export function stepFollower(raft: Raft, m: Message): void {
  switch (m.type) {
    case "append":
      heardFromLeader(raft, m.from);
      handleAppend(raft, m);
      return;
    case "heartbeat":
      heardFromLeader(raft, m.from);
      handleHeartbeat(raft, m);
      return;
    case "snapshot":
      heardFromLeader(raft, m.from);
      handleSnapshotChunk(raft, m);
      return;
    case "timeoutNow":
      hup(raft, true);
      return;
    case "readIndexResp":
      raft.readStates.push({ index: m.index, context: m.context ?? new Uint8Array() });
      return;
    default:
      // Forwarded proposals and reads reaching a non-leader are dropped; their senders retry.
      return;
  }
}

function heardFromLeader(raft: Raft, leader: NodeId): void {
  raft.electionElapsed = 0;
  raft.lead = leader;
}

function handleAppend(raft: Raft, m: Message): void {
  if (m.index < raft.log.committed) {
    raft.send({ type: "appendResp", to: m.from, index: raft.log.committed });
    return;
  }
  const lastNew = raft.log.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
  if (lastNew !== undefined) {
    raft.send({ type: "appendResp", to: m.from, index: lastNew });
    return;
  }
  const hint = raft.log.findConflictByTerm(Math.min(m.index, raft.log.lastIndex()), m.logTerm);
  raft.send({ type: "appendResp", to: m.from, index: m.index, reject: true, rejectHint: hint.index, logTerm: hint.term });
}

function handleHeartbeat(raft: Raft, m: Message): void {
  // A leader never vouches beyond what we acknowledged; a commit past our log means a
  // confused peer, and is ignored rather than trusted.
  if (m.commit <= raft.log.lastIndex()) raft.log.commitTo(m.commit);
  raft.send({ type: "heartbeatResp", to: m.from, ...(m.context === undefined ? {} : { context: m.context }) });
}

function handleSnapshotChunk(raft: Raft, m: Message): void {
  const chunk = m.snapshotChunk;
  if (chunk === undefined) return;
  const outcome = raft.assembler.accept(chunk);
  raft.send({ type: "snapshotResp", to: m.from, index: chunk.meta.index, reject: outcome.reject, rejectHint: outcome.received });
  if (outcome.snapshot === undefined) return;
  const index = restore(raft, outcome.snapshot) ? raft.log.lastIndex() : raft.log.committed;
  raft.send({ type: "appendResp", to: m.from, index });
}

function restore(raft: Raft, snapshot: Snapshot): boolean {
  const { index, term, conf } = snapshot.meta;
  if (index <= raft.log.committed) return false;
  if (raft.log.matchTerm(index, term)) {
    // We already hold that entry: just fast-forward the commit.
    raft.log.commitTo(index);
    return false;
  }
  raft.log.restore(snapshot);
  raft.tracker.setConf(conf, raft.log.lastIndex() + 1);
  return true;
}
