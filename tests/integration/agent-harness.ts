/**
 * Shared helpers for tests that run the real `dist/shoal` binary: build it once (when missing or
 * older than the sources), start agents as child processes on their own temp data dir and free
 * loopback port, run CLI commands, and clean up whatever a test started.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { binaryPath, buildIfStale } from "../../scripts/build.ts";
import { freePort } from "../../scripts/bench/lib/ports.ts";
import { waitFor, waitForHttp } from "../../scripts/bench/lib/wait.ts";

/** Port and polling helpers shared with the benches, re-exported for agent tests. */
export { freePort, waitFor, waitForHttp };

let ensured = false;

/** Path of dist/shoal, compiled first (once per test process) if missing or older than the sources. */
export function shoalBinary(): string {
  if (!ensured) buildIfStale();
  ensured = true;
  return binaryPath;
}

const cleanups: Array<() => void> = [];

/** A fresh directory under the system temp dir, removed by `cleanup()`. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "shoal-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Whether a process `pid` exists (and is ours to signal). */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Kills every agent still running and removes every temp dir; call from `afterAll`/`afterEach`. */
export function cleanup(): void {
  for (const step of cleanups.splice(0).reverse()) step();
}

/** Output of a finished `shoal` invocation. */
export interface ShoalRun {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Environment for child processes: no inherited SHOAL_* variables, so only the test's own apply. */
function childEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && !name.startsWith("SHOAL_")) env[name] = value;
  }
  return { ...env, ...extra };
}

/** Runs `dist/shoal <args>` to completion. */
export function runShoal(args: string[], env: Record<string, string> = {}): ShoalRun {
  const result = Bun.spawnSync([shoalBinary(), ...args], { env: childEnv(env), stdout: "pipe", stderr: "pipe" });
  return { exitCode: result.exitCode ?? -1, stdout: result.stdout.toString(), stderr: result.stderr.toString() };
}

/** A `shoal agent` child process. */
export interface AgentProcess {
  process: Subprocess<"ignore", "pipe", "pipe">;
  dataDir: string;
  /** `http://<health host>:<port>` of its health server. */
  healthUrl: string;
  /** Everything it wrote to stderr so far (its log). */
  log(): string;
  /** Resolves with its exit code. */
  exited: Promise<number>;
  /** Sends `signal` (default SIGTERM) and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number>;
}

/** Options of `startAgent`. */
export interface StartAgentOptions {
  /** Data dir to use (default: a fresh temp dir). */
  dataDir?: string;
  /** Extra flags after `agent`. */
  args?: string[];
  env?: Record<string, string>;
  /** Wait until `/readyz` answers 200 (default true). */
  waitReady?: boolean;
  /** What runs in place of `dist/shoal` (e.g. `[bun, script.ts]`); `agent …` is appended. */
  command?: string[];
  /**
   * Address the health server binds (default 127.0.0.1). An agent in another network namespace
   * has a loopback of its own, so it needs an address the test process can reach.
   */
  healthHost?: string;
}

/** Starts `dist/shoal agent` on a fresh data dir and a free loopback port. */
export async function startAgent(options: StartAgentOptions = {}): Promise<AgentProcess> {
  const dataDir = options.dataDir ?? tempDir();
  const port = await freePort();
  const healthAddr = `${options.healthHost ?? "127.0.0.1"}:${port}`;
  const child = Bun.spawn(
    [...(options.command ?? [shoalBinary()]), "agent", "--data-dir", dataDir, "--health-addr", healthAddr, "--node-name", "test-node", ...(options.args ?? [])],
    { env: childEnv(options.env), stdin: "ignore", stdout: "pipe", stderr: "pipe" },
  );
  let stderr = "";
  const drain = (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of child.stderr) stderr += decoder.decode(chunk, { stream: true });
  })();
  cleanups.push(() => child.kill("SIGKILL"));
  const exited = child.exited.then(async (code) => {
    await drain;
    return code;
  });
  const agent: AgentProcess = {
    process: child,
    dataDir,
    healthUrl: `http://${healthAddr}`,
    log: () => stderr,
    exited,
    stop: (signal = "SIGTERM") => {
      child.kill(signal);
      return exited;
    },
  };
  if (options.waitReady ?? true) {
    const ready = waitForHttp(`${agent.healthUrl}/readyz`, { timeoutMs: 20_000, what: "shoal agent /readyz" });
    const died = exited.then((code) => {
      throw new Error(`agent exited with ${code} before it was ready:\n${stderr}`);
    });
    died.catch(() => {});
    await Promise.race([ready, died]);
  }
  return agent;
}
