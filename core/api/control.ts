/**
 * The control API's app, served on the unix socket `<dataDir>/shoal.sock`. The CLI talks to the
 * local agent through it; subsystems mount their own routes on it (see `SubsystemContext`).
 */
import { Hono } from "hono";
import { DecodeError } from "../common/errors.ts";
import { LOG_LEVELS, type LogLevel, type Logger } from "../common/log.ts";
import type { ReadinessReport } from "../agent/readiness.ts";
import { expectObject, readJsonBody } from "./body.ts";
import { installErrorHandlers } from "./errors.ts";
import type { NodeInfo } from "./health.ts";
import type { MetricsRegistry } from "./metrics.ts";
import { requestMetrics } from "./request-metrics.ts";

/** What `GET /v1/status` returns (and `shoal status --json` prints). */
export interface AgentStatus extends NodeInfo {
  pid: number;
  /** ISO time the agent started. */
  startedAt: string;
  uptimeSeconds: number;
  dataDir: string;
  /** The health server's bound address (`host:port`). */
  healthAddr: string;
  logLevel: LogLevel;
  readiness: ReadinessReport;
}

/** Dependencies of the control app. */
export interface ControlAppOptions {
  status: () => Promise<AgentStatus>;
  setLogLevel: (level: LogLevel) => void;
  metrics: MetricsRegistry;
  logger: Logger;
}

function validateLogLevelBody(value: unknown): { level: LogLevel } {
  const body = expectObject(value, ["level"]);
  if (typeof body.level !== "string" || !(LOG_LEVELS as readonly string[]).includes(body.level)) {
    throw new DecodeError(`field "level" must be one of ${LOG_LEVELS.join(", ")}`, { field: "level" });
  }
  return { level: body.level as LogLevel };
}

/** Builds the control app with the agent's own routes. */
export function createControlApp(options: ControlAppOptions): Hono {
  const app = new Hono();
  installErrorHandlers(app, options.logger);
  app.use(requestMetrics(options.metrics, "control"));
  app.get("/v1/status", async (c) => c.json(await options.status()));
  app.put("/v1/agent/log-level", async (c) => {
    const { level } = await readJsonBody(c, validateLogLevelBody);
    options.setLogLevel(level);
    options.logger.info("log level changed", { newLevel: level });
    return c.json({ level });
  });
  return app;
}
