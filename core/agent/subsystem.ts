/**
 * The contract between the agent and the parts it runs (Raft, gossip, cluster, DNS, mesh…).
 * A subsystem is built from a `SubsystemContext`, where it registers its metrics, readiness
 * checks and control-API routes; the agent then starts subsystems in order and stops them in
 * reverse order, so a subsystem may rely on everything started before it.
 */
import type { Hono } from "hono";
import type { NodeInfo } from "../api/health.ts";
import type { MetricsRegistry } from "../api/metrics.ts";
import type { Logger } from "../common/log.ts";
import type { AgentConfig } from "./config.ts";
import type { ReadinessRegistry } from "./readiness.ts";

/** What a subsystem is given when it is built. */
export interface SubsystemContext {
  /** The effective agent config. */
  config: AgentConfig;
  /** This node's persistent id. */
  nodeId: string;
  /** A logger whose lines carry the subsystem's name. */
  logger: Logger;
  /** The agent's metrics registry (rendered at `/metrics`). */
  metrics: MetricsRegistry;
  /** The agent's readiness checks (evaluated at `/readyz`). */
  readiness: ReadinessRegistry;
  /** The control API app (served on the unix socket); mount routes under `/v1/<name>`. */
  controlApi: Hono;
  /** Makes `source` the answer to "what role is this node" in `/v1/info` and `shoal status` (the cluster subsystem sets it). */
  setRole(source: () => NodeInfo["role"]): void;
}

/** A part of the agent with a lifecycle. */
export interface Subsystem {
  /** Short name, used as the log `subsystem` and in shutdown messages. */
  readonly name: string;
  /** Starts work (binds sockets, loads state); resolves once running. */
  start(): Promise<void>;
  /** Stops work and releases resources; must be safe to call after a failed `start`. */
  stop(): Promise<void>;
}

/** Builds a subsystem from its context; the agent calls factories in start order. */
export interface SubsystemFactory {
  readonly name: string;
  create(context: SubsystemContext): Subsystem;
}
