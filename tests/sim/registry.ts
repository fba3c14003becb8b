/**
 * The simulations `npm run sim -- <name>` can run.
 *
 * A simulation is a module exporting `simulate(seed, options)`: one complete, deterministic run
 * built on tests/kit that throws when an invariant breaks (and may return a small summary
 * object, printed for a single-seed run). Its unit test runs it for a CI-sized number of seeds
 * with `runSeeds({ name, … })`, using the same name as here, so a failure prints a replay
 * command that works.
 *
 * To add one: write `tests/sim/<name>/simulate.ts` exporting `simulate`, then add one entry
 * below. Modules load lazily, so a simulation that does not compile yet breaks only itself.
 */

/** Options every simulation accepts; each documents its own defaults. */
export interface SimulateOptions {
  /** Cluster size. */
  nodes?: number;
}

/** What a simulation module exports. */
export interface Simulation {
  simulate(seed: number, options: SimulateOptions): unknown;
}

/** A registered simulation. */
export interface SimulationEntry {
  /** One line for the listing. */
  description: string;
  load: () => Promise<Simulation>;
}

/** Registered simulations by name. */
export const simulations: Record<string, SimulationEntry> = {
  kit: {
    description: "self-test of the simulator: reliable broadcast over a faulty virtual network",
    load: () => import("./kit/simulate.ts"),
  },
  keyrotation: {
    description: "gossip key rotation: schedule across leader changes, keyring delivery, no unknown-key drops",
    load: () => import("./keyrotation/simulate.ts"),
  },
  gossip: {
    description: "SWIM membership: join spreads, a killed node is declared dead, a partition heals, a restart rejoins (default 50 nodes)",
    load: () => import("./gossip/simulate.ts"),
  },
  "gossip-loss": {
    description: "SWIM membership at 10% packet loss for 10 minutes: no healthy node is ever declared dead (default 30 nodes)",
    load: async () => ({ simulate: (await import("./gossip/simulate.ts")).simulateLoss }),
  },
  networkdb: {
    description: "NetworkDB on real membership: network scope, convergence, failure/restore, reap, disconnect, leave, restart (convergence at --nodes, default 8)",
    load: () => import("./networkdb/simulate.ts"),
  },
  raft: {
    description: "Raft + KV: loss, duplication, reordering, partitions, crashes losing unsynced writes, snapshots, membership changes; safety, linearizability, liveness (3 or 5 voters by seed parity, or --nodes)",
    load: () => import("./raft/simulate.ts"),
  },
  "raft-failover": {
    description: "Raft failover with default timing: leader crash to a new leader's committed write, 3 nodes on a LAN-like network (target < 1.5 s)",
    load: () => import("./raft/failover.ts"),
  },
  dispatcher: {
    description: "dispatcher sessions with default heartbeats: killed, cut-off and orphaned nodes marked down in time and ready when back, manager failover without false downs, keyrings current (default 8 nodes)",
    load: () => import("./dispatcher/simulate.ts"),
  },
  "dispatcher-loss": {
    description: "dispatcher sessions with 5% of all messages lost for 10 minutes: spurious downs are brief, every node ends ready with the current keyring (default 8 nodes)",
    load: async () => ({ simulate: (await import("./dispatcher/simulate.ts")).simulateLoss }),
  },
  "gossip-stall": {
    description: "Lifeguard: a node frozen for 5 probe intervals is suspected but never declared dead (default 30 nodes)",
    load: async () => ({ simulate: (await import("./gossip/simulate.ts")).simulateStall }),
  },
};
