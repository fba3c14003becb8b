/**
 * Linearizable reads (ReadIndex): the leader records its commit index for a read and answers
 * once a quorum confirms it is still the leader (or at once under a lease, or alone).
 */
import { bcastHeartbeat } from "./leader.ts";
import { hasQuorum } from "./quorum.ts";
import type { Raft } from "./raft.ts";
import type { Message, NodeId } from "./types.ts";

/** Serves a read request on the leader, from itself or forwarded by a follower. */
export function leaderReadIndex(raft: Raft, request: Message): void {
  if (raft.tracker.voters.length === 1 && raft.tracker.isVoter(raft.id)) {
    answerRead(raft, request, raft.log.committed);
    return;
  }
  // Until an entry of this term commits, the leader's commit index may lag the cluster's.
  if (raft.log.term(raft.log.committed) !== raft.term) {
    raft.pendingReadIndex.push(request);
    return;
  }
  if (raft.config.readOnlyOption === "lease") {
    answerRead(raft, request, raft.log.committed);
    return;
  }
  raft.readOnly.add(raft.log.committed, request);
  confirmReads(raft, raft.id, request.context ?? new Uint8Array());
  bcastHeartbeat(raft, request.context);
}

/** Serves the reads that waited for the leader's first commit in its term, once it happened. */
export function releasePendingReadIndex(raft: Raft): void {
  if (raft.pendingReadIndex.length === 0 || raft.log.term(raft.log.committed) !== raft.term) return;
  const waiting = raft.pendingReadIndex;
  raft.pendingReadIndex = [];
  for (const request of waiting) leaderReadIndex(raft, request);
}

/** Records `from`'s heartbeat acknowledgement of the read `context`; answers the reads a quorum confirmed. */
export function confirmReads(raft: Raft, from: NodeId, context: Uint8Array): void {
  const acks = raft.readOnly.recordAck(from, context);
  if (acks === undefined || !hasQuorum(raft.tracker.voters, (id) => id === raft.id || acks.has(id))) return;
  for (const read of raft.readOnly.release(context)) answerRead(raft, read.request, read.index);
}

function answerRead(raft: Raft, request: Message, index: number): void {
  const context = request.context ?? new Uint8Array();
  if (request.from === raft.id) raft.readStates.push({ index, context });
  else raft.send({ type: "readIndexResp", to: request.from, index, context });
}
