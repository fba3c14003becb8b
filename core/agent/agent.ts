/**
 * The agent: takes the data directory lock, loads the node id, builds the subsystems, opens the
 * health and control servers and starts the subsystems in order. Shutdown runs the other way:
 * stop accepting requests, stop subsystems in reverse order, release the lock — all within the
 * configured time budget, so systemd never has to escalate to SIGKILL.
 */
import { mkdirSync } from "node:fs";
import type { Hono } from "hono";
import { ShoalError, describeError } from "../common/errors.ts";
import type { LogLevel, Logger } from "../common/log.ts";
import { createControlApp, type AgentStatus } from "../api/control.ts";
import { createHealthApp, type NodeInfo } from "../api/health.ts";
import { MetricsRegistry } from "../api/metrics.ts";
import { registerProcessMetrics } from "../api/process-metrics.ts";
import { serveTcp, serveUnix, type RunningServer } from "../api/serve.ts";
import { parseHostPort } from "../common/address.ts";
import { ConfigError, type AgentConfig } from "./config.ts";
import { acquireDataDirLock, type DataDirLock } from "./lock.ts";
import { loadOrCreateNodeId } from "./node-id.ts";
import { dataFiles } from "./paths.ts";
import { ReadinessRegistry } from "./readiness.ts";
import type { Subsystem, SubsystemContext, SubsystemFactory } from "./subsystem.ts";
import { versionInfo } from "./version.ts";

/** Where the agent is in its life; `/readyz` fails in every state but `running`. */
export type AgentState = "starting" | "running" | "stopping" | "stopped";

/** Inputs of `Agent.start`. */
export interface AgentOptions {
  config: AgentConfig;
  logger: Logger;
  /** Reads and changes the logger's level at run time (the control API's log-level route). */
  logLevel: { get(): LogLevel; set(level: LogLevel): void };
  /** Subsystems in start order. */
  subsystems: readonly SubsystemFactory[];
}

/** How a shutdown ended. */
export interface StopResult {
  /** True when every step finished within the time budget without error. */
  clean: boolean;
}

function withDeadline<T>(work: Promise<T>, deadline: number): Promise<T | "timeout"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), Math.max(0, deadline - performance.now()));
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/** A running agent. */
export class Agent {
  private state: AgentState = "starting";
  private readonly servers: RunningServer[] = [];
  private readonly started: Subsystem[] = [];
  private stopping: Promise<StopResult> | undefined;
  private role: () => NodeInfo["role"] = () => "standalone";

  private constructor(
    private readonly options: AgentOptions,
    private readonly lock: DataDirLock,
    /** This node's persistent id. */
    readonly nodeId: string,
    private readonly startedAtMs: number,
  ) {}

  /** Starts an agent; on any failure everything already started is stopped again. */
  static async start(options: AgentOptions): Promise<Agent> {
    const { config } = options;
    try {
      mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
    } catch (error) {
      throw new ShoalError("data_dir_unusable", `cannot create data dir ${config.dataDir}: ${describeError(error)}`, { dataDir: config.dataDir });
    }
    const lock = acquireDataDirLock(config.dataDir);
    let agent: Agent | undefined;
    try {
      agent = new Agent(options, lock, loadOrCreateNodeId(config.dataDir), Date.now());
      await agent.boot();
      return agent;
    } catch (error) {
      if (agent) await agent.stop();
      else lock.release();
      throw error;
    }
  }

  /** The health server's bound address (`host:port`; differs from the config when port 0 was asked). */
  get healthAddress(): string {
    return this.servers[0]?.address ?? "";
  }

  /** The control API's socket path. */
  get socketPath(): string {
    return dataFiles.socket(this.options.config.dataDir);
  }

  /** Graceful shutdown; idempotent (a second call returns the first call's result). */
  stop(): Promise<StopResult> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  /** Releases the lock at once, for a forced exit that cannot wait for `stop`. */
  releaseLockNow(): void {
    this.lock.release();
  }

  private async boot(): Promise<void> {
    const { config, logger } = this.options;
    const metrics = new MetricsRegistry();
    const readiness = new ReadinessRegistry();
    registerProcessMetrics(metrics, versionInfo, this.startedAtMs);
    readiness.add("agent", () => ({ ok: this.state === "running", detail: `agent is ${this.state}` }));

    const controlApi = createControlApp({
      status: () => this.status(readiness),
      setLogLevel: (level) => this.options.logLevel.set(level),
      metrics,
      logger: logger.child({ subsystem: "control" }),
    });
    // Subsystems register routes, metrics and checks before any server starts: hono's router
    // cannot take new routes once it has matched a request.
    const subsystems = this.options.subsystems.map((factory) =>
      factory.create(this.contextFor(factory.name, metrics, readiness, controlApi)),
    );
    const healthApi = createHealthApp({ metrics, readiness, info: () => this.info(), logger: logger.child({ subsystem: "health" }) });

    const healthAddress = parseHostPort(config.healthAddr);
    if ("error" in healthAddress) throw new ConfigError(`invalid healthAddr ${JSON.stringify(config.healthAddr)}: ${healthAddress.error}`);
    this.servers.push(serveTcp(healthApi, healthAddress, "health server"));
    this.servers.push(serveUnix(controlApi, this.socketPath, "control API"));

    for (const subsystem of subsystems) {
      await subsystem.start();
      this.started.push(subsystem);
      logger.debug("subsystem started", { name: subsystem.name });
    }
    this.state = "running";
    logger.info("agent started", {
      nodeId: this.nodeId, nodeName: config.nodeName, version: versionInfo.version,
      health: this.healthAddress, socket: this.socketPath, pid: process.pid,
    });
  }

  private contextFor(name: string, metrics: MetricsRegistry, readiness: ReadinessRegistry, controlApi: Hono): SubsystemContext {
    return {
      config: this.options.config,
      nodeId: this.nodeId,
      logger: this.options.logger.child({ subsystem: name }),
      metrics,
      readiness,
      controlApi,
      setRole: (source) => {
        this.role = source;
      },
    };
  }

  private info(): NodeInfo {
    return {
      version: versionInfo.version,
      commit: versionInfo.commit,
      nodeId: this.nodeId,
      nodeName: this.options.config.nodeName,
      role: this.role(),
    };
  }

  private async status(readiness: ReadinessRegistry): Promise<AgentStatus> {
    return {
      ...this.info(),
      pid: process.pid,
      startedAt: new Date(this.startedAtMs).toISOString(),
      uptimeSeconds: Math.round((Date.now() - this.startedAtMs) / 1000),
      dataDir: this.options.config.dataDir,
      healthAddr: this.healthAddress,
      logLevel: this.options.logLevel.get(),
      readiness: await readiness.evaluate(),
    };
  }

  private async shutdown(): Promise<StopResult> {
    const { logger, config } = this.options;
    this.state = "stopping";
    const deadline = performance.now() + config.shutdownTimeoutMs;
    let clean = true;
    const step = async (what: string, work: () => Promise<void>) => {
      try {
        if ((await withDeadline(work(), deadline)) === "timeout") {
          clean = false;
          logger.error("shutdown step did not finish in time", { step: what, shutdownTimeoutMs: config.shutdownTimeoutMs });
        }
      } catch (error) {
        clean = false;
        logger.error("shutdown step failed", { step: what, error: describeError(error) });
      }
    };
    logger.info("agent stopping");
    await step("stop accepting requests", async () => {
      await Promise.all(this.servers.map((server) => server.stop()));
    });
    for (const subsystem of [...this.started].reverse()) await step(`stop ${subsystem.name}`, () => subsystem.stop());
    this.lock.release();
    this.state = "stopped";
    logger.info("agent stopped", { clean });
    return { clean };
  }
}
