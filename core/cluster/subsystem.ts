/**
 * The cluster subsystem's factory: builds the `ClusterService`, mounts its control routes and its
 * readiness check, and hands the runtime to the subsystems after it (`ClusterRuntimeSource`).
 */
import type { Subsystem, SubsystemContext, SubsystemFactory } from "../agent/subsystem.ts";
import { clusterConfig, type ClusterConfig } from "./config.ts";
import type { ClusterRuntime, ClusterRuntimeSource } from "./contract.ts";
import { registerClusterRoutes } from "./routes.ts";
import { ClusterService } from "./service.ts";

/** Creates the cluster subsystem; `runtime()` is valid once `create()` ran. */
export class ClusterSubsystemFactory implements SubsystemFactory, ClusterRuntimeSource {
  readonly name = "cluster";
  private service: ClusterService | undefined;

  /** `overrides` take precedence over the agent config's cluster fields. */
  constructor(private readonly overrides: Partial<Omit<ClusterConfig, "keyRotation">> = {}) {}

  create(context: SubsystemContext): Subsystem {
    const { keyRotationIntervalMs, keyInstallGraceMs, certificateLifetimeMs } = context.config;
    const config = clusterConfig({
      certificateLifetimeMs,
      keyRotation: { rotationInterval: keyRotationIntervalMs, installGrace: Math.min(keyInstallGraceMs, keyRotationIntervalMs) },
      ...this.overrides,
    });
    const service = new ClusterService(context, config);
    this.service = service;
    registerClusterRoutes(context.controlApi, service);
    context.setRole(() => service.identity()?.role ?? "standalone");
    context.readiness.add("raft", () => {
      const manager = service.manager();
      if (!manager) return { ok: true, detail: service.identity() ? "worker: runs no Raft" : "not in a cluster" };
      const leader = manager.leaderId();
      return leader ? { ok: true, detail: `leader ${leader}` } : { ok: false, detail: "no Raft leader: a quorum of managers is not reachable" };
    });
    return { name: this.name, start: () => service.start(), stop: () => service.stop() };
  }

  runtime(): ClusterRuntime {
    if (!this.service) throw new Error("the cluster subsystem is not created yet: call runtime() from a later subsystem's create()");
    return this.service;
  }
}
