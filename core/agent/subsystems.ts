/**
 * The subsystems every agent runs, in start order (they stop in reverse). The cluster subsystem
 * comes first: the ones after it take it as their `ClusterRuntimeSource`.
 */
import { nodeSubsystems } from "../cluster/node/subsystems.ts";
import { ClusterSubsystemFactory } from "../cluster/subsystem.ts";
import type { SubsystemFactory } from "./subsystem.ts";

/** The cluster subsystem of this process's agent. */
export const clusterSubsystem = new ClusterSubsystemFactory();

/** Factories of the agent's subsystems, in start order. */
export const subsystemFactories: SubsystemFactory[] = [clusterSubsystem, ...nodeSubsystems(clusterSubsystem)];
