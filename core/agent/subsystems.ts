/**
 * The subsystems every agent runs, in start order (they stop in reverse). Later pieces (Raft,
 * gossip, cluster, DNS, mesh) plug in by adding their factory here.
 */
import type { SubsystemFactory } from "./subsystem.ts";

/** Factories of the agent's subsystems, in start order. */
export const subsystemFactories: SubsystemFactory[] = [];
