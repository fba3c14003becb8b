/**
 * One manager's copy of the replicated cluster state, as far as key rotation reads it. Committed
 * gossip key entries go through the cluster state machine's own `applyCommand`, the one place a
 * key entry is decoded and applied on a manager; `KeyManager` reads the result and keeps no copy.
 */
import type { ClusterStateView, CommandRefusal } from "../../../core/cluster/contract.ts";
import type { GossipKeyState } from "../../../core/cluster/keyrotation/index.ts";
import { applyCommand, EMPTY_CLUSTER_STATE } from "../../../core/cluster/state.ts";

/** See the module comment. */
export class KeyStateReplica {
  private cluster: ClusterStateView;

  /** The initialised cluster `clusterId` before its first key, or, given `snapshot`, that replica's state as of now. */
  constructor(clusterId: string, snapshot?: KeyStateReplica) {
    this.cluster = snapshot?.cluster ?? { ...EMPTY_CLUSTER_STATE, clusterId };
  }

  /** The key state as of the last applied entry: a `KeyManager`'s `replicatedState`. */
  readonly keys = (): GossipKeyState => this.cluster.gossipKeys;

  /** Applies one committed entry; returns the refusal when the state machine refused it. */
  apply(entry: Uint8Array): CommandRefusal | undefined {
    const outcome = applyCommand(this.cluster, { type: "gossipKey", entry });
    if (outcome.state) this.cluster = outcome.state;
    return outcome.refusal;
  }
}
