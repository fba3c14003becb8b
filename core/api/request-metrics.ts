/** Hono middleware counting requests and timing them, per server, route and status. */
import type { MiddlewareHandler } from "hono";
import { DURATION_BUCKETS, type MetricsRegistry } from "./metrics.ts";

/** Counts and times every request served by `server` (`health` or `control`). */
export function requestMetrics(registry: MetricsRegistry, server: string): MiddlewareHandler {
  const requests = registry.counter("shoal_http_requests_total", "HTTP requests served, by server, route and status code.", ["server", "route", "code"]);
  const duration = registry.histogram("shoal_http_request_duration_seconds", "Time to answer HTTP requests, by server.", DURATION_BUCKETS, ["server"]);
  return async (c, next) => {
    const started = performance.now();
    await next();
    // The matched route pattern, not the raw path, keeps label cardinality bounded.
    requests.inc({ server, route: c.req.routePath, code: String(c.res.status) });
    duration.observe((performance.now() - started) / 1000, { server });
  };
}
