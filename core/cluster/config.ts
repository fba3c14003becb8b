/** Tunables of the cluster manager: every one named, documented and defaulted here. */
import { keyRotationConfig, type KeyRotationConfig } from "./keyrotation/index.ts";

/** How the cluster manager issues certificates, reconciles membership and bounds its requests. */
export interface ClusterConfig {
  /** Lifetime of a node certificate; nodes renew at a random point between 50% and 80% of it. Default 90 days (as Swarm). */
  certificateLifetimeMs: number;
  /**
   * How often the leader reconciles Raft membership with the managers in the state (adding
   * learners, promoting caught-up ones, removing demoted or removed managers) and drives the key
   * rotation schedule. Default 250 ms.
   */
  reconcileIntervalMs: number;
  /**
   * How often every node checks whether its certificate is due for renewal and, on a worker,
   * asks a manager whether it was promoted. Default 5 s.
   */
  maintenanceIntervalMs: number;
  /** How long a follower waits for a leader to be known before refusing a request it must forward. Default 3 s. */
  leaderWaitMs: number;
  /** How long a join, renewal or forwarded API request may take before it fails. Default 10 s. */
  requestTimeoutMs: number;
  /** Gossip key rotation (`keyrotation/config.ts`). */
  keyRotation: KeyRotationConfig;
}

/** The defaults with `overrides` applied. */
export function clusterConfig(overrides: Partial<Omit<ClusterConfig, "keyRotation">> & { keyRotation?: Partial<KeyRotationConfig> } = {}): ClusterConfig {
  return {
    certificateLifetimeMs: overrides.certificateLifetimeMs ?? 90 * 24 * 60 * 60 * 1000,
    reconcileIntervalMs: overrides.reconcileIntervalMs ?? 250,
    maintenanceIntervalMs: overrides.maintenanceIntervalMs ?? 5000,
    leaderWaitMs: overrides.leaderWaitMs ?? 3000,
    requestTimeoutMs: overrides.requestTimeoutMs ?? 10_000,
    keyRotation: keyRotationConfig(overrides.keyRotation),
  };
}
