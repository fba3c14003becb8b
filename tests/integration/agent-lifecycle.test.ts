import { afterAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { Agent } from "../../core/agent/agent.ts";
import { defaultConfig } from "../../core/agent/config.ts";
import type { Subsystem, SubsystemContext, SubsystemFactory } from "../../core/agent/subsystem.ts";
import { createLogger, type LogLevel } from "../../core/common/log.ts";
import { cleanup, tempDir } from "./agent-harness.ts";

afterAll(cleanup);

interface Probe {
  events: string[];
  lines: string[];
}

function startAgent(factories: SubsystemFactory[], probe: Probe, shutdownTimeoutMs = 2000, dataDir = tempDir()) {
  let level: LogLevel = "debug";
  return Agent.start({
    config: { ...defaultConfig({}, false), dataDir, healthAddr: "127.0.0.1:0", nodeName: "lifecycle", shutdownTimeoutMs },
    logger: createLogger({ level: "debug", format: "logfmt", subsystem: "agent", sink: (line) => probe.lines.push(line) }),
    logLevel: { get: () => level, set: (next) => (level = next) },
    subsystems: factories,
  });
}

function fake(name: string, probe: Probe, behaviour: Partial<Subsystem> & { setup?: (context: SubsystemContext) => void } = {}): SubsystemFactory {
  return {
    name,
    create(context) {
      behaviour.setup?.(context);
      return {
        name,
        start: behaviour.start ?? (async () => void probe.events.push(`start ${name}`)),
        stop: behaviour.stop ?? (async () => void probe.events.push(`stop ${name}`)),
      };
    },
  };
}

describe("agent lifecycle with subsystems", () => {
  test("starts subsystems in order, stops them in reverse, after the servers stop accepting", async () => {
    const probe: Probe = { events: [], lines: [] };
    const agent = await startAgent([fake("raft", probe), fake("gossip", probe), fake("cluster", probe)], probe);
    const health = `http://${agent.healthAddress}`;
    expect((await fetch(`${health}/readyz`)).status).toBe(200);
    expect(await agent.stop()).toEqual({ clean: true });
    expect(probe.events).toEqual(["start raft", "start gossip", "start cluster", "stop cluster", "stop gossip", "stop raft"]);
    await expect(fetch(`${health}/healthz`)).rejects.toThrow();
    expect(existsSync(agent.socketPath)).toBe(false);
  });

  test("subsystems add readiness checks, metrics and control routes", async () => {
    const probe: Probe = { events: [], lines: [] };
    let leaderKnown = false;
    const agent = await startAgent([
      fake("raft", probe, {
        setup: ({ readiness, metrics, controlApi, nodeId }) => {
          readiness.add("raft-leader", () => ({ ok: leaderKnown, detail: leaderKnown ? "leader known" : "no leader yet" }));
          metrics.counter("shoal_raft_elections_total", "Elections started.").inc();
          controlApi.get("/v1/raft/status", (c) => c.json({ nodeId, leaderKnown }));
        },
      }),
    ], probe);
    const health = `http://${agent.healthAddress}`;
    const notReady = await fetch(`${health}/readyz`);
    expect(notReady.status).toBe(503);
    expect(((await notReady.json()) as { failing: unknown[] }).failing).toEqual([{ name: "raft-leader", ok: false, detail: "no leader yet" }]);
    leaderKnown = true;
    expect((await fetch(`${health}/readyz`)).status).toBe(200);
    expect(await (await fetch(`${health}/metrics`)).text()).toContain("shoal_raft_elections_total 1");
    const route = await fetch("http://localhost/v1/raft/status", { unix: agent.socketPath });
    expect(await route.json()).toEqual({ nodeId: agent.nodeId, leaderKnown: true });
    await agent.stop();
  });

  test("a failing subsystem start stops what started, releases the lock and rethrows", async () => {
    const probe: Probe = { events: [], lines: [] };
    const failing = fake("gossip", probe, { start: async () => { throw new Error("gossip port in use"); } });
    const dataDir = tempDir();
    await expect(startAgent([fake("raft", probe), failing, fake("cluster", probe)], probe, 2000, dataDir)).rejects.toThrow("gossip port in use");
    expect(probe.events).toEqual(["start raft", "stop raft"]);
    expect(existsSync(join(dataDir, "shoal.lock"))).toBe(false);
    expect(existsSync(join(dataDir, "shoal.sock"))).toBe(false);
  });

  test("a subsystem that hangs on stop cannot hold shutdown past the time budget", async () => {
    const probe: Probe = { events: [], lines: [] };
    const hanging = fake("dns", probe, { stop: () => new Promise<void>(() => {}) });
    const agent = await startAgent([fake("raft", probe), hanging], probe, 300);
    const started = performance.now();
    expect(await agent.stop()).toEqual({ clean: false });
    expect(performance.now() - started).toBeLessThan(5000);
    expect(probe.lines.join("\n")).toContain('msg="shutdown step did not finish in time" step="stop dns"');
    expect(existsSync(join(agent.socketPath, "..", "shoal.lock"))).toBe(false);
  });

  test("stop is idempotent", async () => {
    const probe: Probe = { events: [], lines: [] };
    const agent = await startAgent([fake("raft", probe)], probe);
    const [first, second] = await Promise.all([agent.stop(), agent.stop()]);
    expect(first).toEqual(second);
    expect(probe.events.filter((event) => event === "stop raft")).toHaveLength(1);
  });
});
