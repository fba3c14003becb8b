/**
 * Process-level metrics with the names Prometheus client libraries use (`process_*`), so
 * existing dashboards work, plus Shoal's uptime and build info.
 */
import type { MetricsRegistry } from "./metrics.ts";
import type { VersionInfo } from "../agent/version.ts";

/** Registers CPU, memory, start time, uptime and build info, sampled at each scrape. */
export function registerProcessMetrics(registry: MetricsRegistry, version: VersionInfo, startedAtMs: number): void {
  const cpu = registry.sampledCounter("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.");
  const resident = registry.gauge("process_resident_memory_bytes", "Resident memory size in bytes.");
  const heap = registry.gauge("process_heap_bytes", "JavaScript heap in use in bytes.");
  const startTime = registry.gauge("process_start_time_seconds", "Start time of the process since the Unix epoch in seconds.");
  const uptime = registry.gauge("shoal_uptime_seconds", "Seconds since the agent started.");
  const build = registry.gauge("shoal_build_info", "Always 1; labels carry the build's version and commit.", ["version", "commit"]);

  startTime.set(startedAtMs / 1000);
  build.set(1, { version: version.version, commit: version.commit });
  registry.onCollect(() => {
    const usage = process.cpuUsage();
    cpu.sample((usage.user + usage.system) / 1e6);
    const memory = process.memoryUsage();
    resident.set(memory.rss);
    heap.set(memory.heapUsed);
    uptime.set((Date.now() - startedAtMs) / 1000);
  });
}
