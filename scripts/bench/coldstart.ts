/**
 * Cold start of `dist/shoal agent`: how long from exec to `GET /readyz` answering 200, how much
 * memory the agent holds once idle, and how big the binary is. Single node, fresh data dir per
 * start; no peer yet (the peer columns stay empty).
 *
 * Flags: `--runs N` sequential cold starts (default 10), `--idle-agents N` agents measured for
 * idle RSS and CPU (default 3, run side by side), `--idle-seconds S` (default 10), `--build` to
 * rebuild dist/shoal even when it is up to date (it is always rebuilt when older than its sources).
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import {
  freePort,
  median,
  percentile,
  integerFlag,
  ProcessSampler,
  row,
  startProcess,
  toMB,
  waitForHttp,
  type Bench,
  type BenchContext,
  type RunningProcess,
} from "./lib/index.ts";
import { binaryPath as binary, build, buildIfStale } from "../build.ts";

const readyTimeoutMs = 30_000;

/** A started agent with its own data dir and health port. */
interface StartedAgent {
  agent: RunningProcess;
  dataDir: string;
  readyMs: number;
}

async function startAgent(): Promise<StartedAgent> {
  const dataDir = mkdtempSync(join(tmpdir(), "shoal-bench-"));
  const port = await freePort();
  const started = performance.now();
  const agent = startProcess([binary, "agent", "--data-dir", dataDir, "--health-addr", `127.0.0.1:${port}`]);
  try {
    await waitForHttp(`http://127.0.0.1:${port}/readyz`, { timeoutMs: readyTimeoutMs, intervalMs: 2, what: "shoal /readyz" });
  } catch (error) {
    await stopAgent({ agent, dataDir, readyMs: 0 });
    throw new Error(`${(error as Error).message}\nagent stderr:\n${agent.stderrTail()}`);
  }
  return { agent, dataDir, readyMs: performance.now() - started };
}

async function stopAgent({ agent, dataDir }: StartedAgent, log?: BenchContext["log"]): Promise<void> {
  const code = await agent.stop();
  if (code !== 0 && log) log(`warning: agent ${agent.pid} exited with code ${code} after SIGTERM`);
  rmSync(dataDir, { recursive: true, force: true });
}

/** See the module comment. */
export const bench: Bench = {
  description: "cold start of dist/shoal agent to /readyz 200, idle RSS and CPU, binary size",
  async run({ args, log }) {
    const { values } = parseArgs({
      args,
      options: { runs: { type: "string" }, "idle-agents": { type: "string" }, "idle-seconds": { type: "string" }, build: { type: "boolean" } },
    });
    const runs = integerFlag("runs", values.runs, 10);
    const idleAgents = integerFlag("idle-agents", values["idle-agents"], 3);
    const idleSeconds = integerFlag("idle-seconds", values["idle-seconds"], 10);
    if (values.build) build();
    else buildIfStale();
    const version = Bun.spawnSync([binary, "version"], { stderr: "ignore" });
    log(`binary: ${version.stdout.toString().trim() || `(shoal version exited ${version.exitCode})`}`);

    // Sequential, so one start never competes with another for the CPU.
    const startMs: number[] = [];
    for (let i = 0; i < runs; i++) {
      const started = await startAgent();
      startMs.push(started.readyMs);
      log(`start ${i + 1}/${runs}: ready in ${started.readyMs.toFixed(1)} ms`);
      await stopAgent(started, log);
    }

    log(`idle: ${idleAgents} agent(s) for ${idleSeconds} s after ready…`);
    const idle = await Promise.all(Array.from({ length: idleAgents }, () => startAgent()));
    const samplers = idle.map(({ agent }) => new ProcessSampler(agent.pid, 500).start());
    await Bun.sleep(idleSeconds * 1000);
    const reports = samplers.map((sampler) => sampler.stop());
    await Promise.all(idle.map((started) => stopAgent(started, log)));
    const idleRssMB = reports.map((report) => toMB(report.lastRssBytes));
    const idleCpuPercent = reports.map((report) => report.cpuPercent);

    const single = "single agent, fresh data dir";
    return [
      row({ case: single, metric: `start to /readyz 200, p50 of ${runs}`, unit: "ms", better: "lower", shoal: median(startMs) }),
      row({ case: single, metric: `start to /readyz 200, p90 of ${runs}`, unit: "ms", better: "lower", shoal: percentile(startMs, 90) }),
      row({ case: single, metric: `idle RSS ${idleSeconds} s after ready, median of ${idleAgents}`, unit: "MB", better: "lower", shoal: median(idleRssMB) }),
      row({ case: single, metric: `idle CPU over ${idleSeconds} s, median of ${idleAgents}`, unit: "% of a core", better: "lower", shoal: median(idleCpuPercent) }),
      row({ case: "dist/shoal", metric: "binary size", unit: "MB", better: "lower", shoal: toMB(statSync(binary).size) }),
    ];
  },
};
