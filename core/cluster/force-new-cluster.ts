/**
 * `shoal init --force-new-cluster`: a surviving manager of a cluster that lost its quorum makes
 * itself the only voter, keeping the cluster state (nodes, tokens, keys, certificates).
 *
 * How: with the manager's Raft node stopped, the store gets a snapshot of the local cluster
 * state placed one index past everything in the log, whose membership names this node alone,
 * and the log before it is dropped. On restart the node is a one-voter cluster that elects
 * itself at once. Entries that were not yet applied here are dropped with the old log: in the
 * normal case those are only entries that never committed. The other managers stay listed in
 * the state: the leader adds them back as learners when they return, or `node rm --force`
 * removes the ones that are gone for good.
 */
import { clusterFiles } from "./identity-store.ts";
import { DurableStorage } from "../store/raft-storage.ts";
import { ClusterStateMachine } from "./state-machine.ts";

/** Rewrites the stopped manager's Raft store in `dataDir` to a one-voter membership of `nodeId`. */
export function forceNewCluster(dataDir: string, nodeId: string): { index: number } {
  const raftDir = clusterFiles.raft(dataDir);
  const stateMachine = new ClusterStateMachine(raftDir);
  const storage = DurableStorage.open(raftDir);
  try {
    const hardState = storage.currentHardState();
    const index = Math.max(storage.lastIndex(), storage.snapshotIndex(), stateMachine.appliedIndex()) + 1;
    storage.persist({
      snapshot: { meta: { index, term: hardState.term, conf: { voters: [nodeId], learners: [], votersOutgoing: [] } }, data: stateMachine.snapshot() },
      hardState: { term: hardState.term, vote: nodeId, commit: index },
    });
    return { index };
  } finally {
    storage.close();
    stateMachine.close();
  }
}
