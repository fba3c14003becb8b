/**
 * The health server's app (TCP, loopback by default): liveness, readiness, Prometheus metrics
 * and node info. Everything here is cheap and read-only, so it is safe to poll often.
 */
import { Hono } from "hono";
import type { Logger } from "../common/log.ts";
import type { ReadinessRegistry } from "../agent/readiness.ts";
import { installErrorHandlers } from "./errors.ts";
import type { MetricsRegistry } from "./metrics.ts";
import { requestMetrics } from "./request-metrics.ts";

/** What `GET /v1/info` returns. */
export interface NodeInfo {
  version: string;
  commit: string;
  nodeId: string;
  nodeName: string;
  /** `standalone` until the node joins or initialises a cluster, then `manager` or `worker`. */
  role: "standalone" | "manager" | "worker";
}

/** Dependencies of the health app. */
export interface HealthAppOptions {
  metrics: MetricsRegistry;
  readiness: ReadinessRegistry;
  info: () => NodeInfo;
  logger: Logger;
}

/** Content type of the Prometheus text exposition format. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Builds the health app: `/healthz`, `/readyz`, `/metrics`, `/v1/info`. */
export function createHealthApp(options: HealthAppOptions): Hono {
  const app = new Hono();
  installErrorHandlers(app, options.logger);
  app.use(requestMetrics(options.metrics, "health"));
  app.get("/healthz", (c) => c.json({ status: "ok" }));
  app.get("/readyz", async (c) => {
    const report = await options.readiness.evaluate();
    if (report.ready) return c.json({ status: "ready", checks: report.checks });
    const failing = report.checks.filter((check) => !check.ok);
    return c.json({ status: "not_ready", failing, checks: report.checks }, 503);
  });
  app.get("/metrics", (c) => c.body(options.metrics.render(), 200, { "content-type": PROMETHEUS_CONTENT_TYPE }));
  app.get("/v1/info", (c) => c.json(options.info()));
  return app;
}
