/**
 * Wiring of one raft node from its data directory: the durable log, the state machine brought
 * level with the latest snapshot, the core resumed at the state machine's applied index, and
 * the replica driving them. The agent and the raft test/bench node both start here.
 */
import type { MetricsRegistry } from "../api/metrics.ts";
import { ShoalError } from "../common/errors.ts";
import type { Logger } from "../common/log.ts";
import { entropyRandom, type Random } from "../common/random.ts";
import { raftConfig, type RaftConfig } from "../raft/config.ts";
import { RawNode } from "../raft/node.ts";
import { SnapshotTemporarilyUnavailableError } from "../raft/errors.ts";
import type { ConfState, NodeId } from "../raft/types.ts";
import { checkpointThread } from "./checkpoint.ts";
import { DurableStorage } from "./raft-storage.ts";
import { Replica, type ReplicaTransport } from "./replica.ts";
import type { StateMachine } from "./state-machine.ts";

/** What `openReplica` needs. */
export interface OpenReplicaOptions<R> {
  dataDir: string;
  /** Core settings; unset fields take `RAFT_DEFAULTS`. `applied` is set here, from the state machine. */
  raft: Partial<Omit<RaftConfig, "applied">> & { id: NodeId };
  stateMachine: StateMachine<R>;
  transport: ReplicaTransport;
  /**
   * The initial membership when this node founds a new cluster. Omit it for a node that joins
   * an existing cluster: it starts empty and learns everything from the leader.
   */
  bootstrap?: ConfState;
  requestTimeoutMs?: number;
  logger?: Logger;
  metrics?: MetricsRegistry;
  /** Election-timeout randomness. Default: OS entropy. */
  random?: Random;
}

/**
 * Opens the node's store (throwing `StoreCorruptError` on damage), recovers the state machine
 * and returns a replica ready to `start()`.
 */
export function openReplica<R>(options: OpenReplicaOptions<R>): { replica: Replica<R>; storage: DurableStorage } {
  const storage = DurableStorage.open(options.dataDir);
  reportCheckpointThread(options.metrics);
  try {
    if (options.bootstrap && storage.isEmpty()) storage.bootstrap(options.bootstrap);
    const { stateMachine } = options;
    // A snapshot received just before a crash may be ahead of the state machine's last write.
    // (A lazy snapshot never is: the state machine was synced before it was recorded.)
    if (stateMachine.appliedIndex() < storage.snapshotIndex()) {
      try {
        stateMachine.restore(storage.snapshot());
      } catch (error) {
        if (!(error instanceof SnapshotTemporarilyUnavailableError)) throw error;
        throw new ShoalError("state_behind_snapshot", `the state machine in ${options.dataDir} is at index ${stateMachine.appliedIndex()}, behind the raft snapshot at ${storage.snapshotIndex()}; its data was lost: re-join this node with an empty data directory`, { dataDir: options.dataDir });
      }
    }
    // Entries up to the state machine's index are skipped when re-applied; the core may only start from a committed one.
    const applied = Math.min(stateMachine.appliedIndex(), storage.initialState().hardState.commit);
    const config = raftConfig({ ...options.raft, applied });
    const core = new RawNode({ config, storage, random: options.random ?? entropyRandom() });
    const replica = new Replica({
      core,
      storage,
      stateMachine,
      transport: options.transport,
      requestTimeoutMs: options.requestTimeoutMs,
      logger: options.logger,
      metrics: options.metrics,
    });
    return { replica, storage };
  } catch (error) {
    storage.close();
    throw error;
  }
}

/** Registries already reporting where checkpoints run: one process may open replicas more than once (a node promoted again). */
const reportingCheckpoints = new WeakSet<MetricsRegistry>();

/** Exposes where this process's WAL checkpoints run, as `shoal_store_checkpoint_worker`. */
function reportCheckpointThread(metrics: MetricsRegistry | undefined): void {
  if (!metrics || reportingCheckpoints.has(metrics)) return;
  reportingCheckpoints.add(metrics);
  const gauge = metrics.gauge("shoal_store_checkpoint_worker", "1 while WAL checkpoints run on their worker thread; 0 when they run on the thread that serves raft, stalling its writes.");
  metrics.onCollect(() => gauge.set(checkpointThread() === "worker" ? 1 : 0));
}
