/**
 * `npm start`: runs Shoal locally. For now one agent with its data in ./.shoal/node-1 (or
 * `npm start -- --data-dir DIR`) and its health server on loopback; prints where to look, and on
 * Ctrl-C (or SIGTERM) stops the agent gracefully and exits with nothing left running.
 *
 * The agent runs in its own process group, so a terminal's Ctrl-C reaches it exactly once,
 * through this script, rather than once from the terminal and again from us (which the agent
 * would take as an impatient second signal).
 */
import { spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import { buildIfStale } from "./build.ts";
import { freePort } from "./bench/lib/ports.ts";
import { waitForHttp } from "./bench/lib/wait.ts";

const root = join(import.meta.dir, "..");
const DEFAULT_HEALTH_PORT = 7372;

async function healthPort(): Promise<number> {
  const probe = Bun.listen({ hostname: "127.0.0.1", port: DEFAULT_HEALTH_PORT, socket: { data() {} } });
  probe.stop(true);
  return DEFAULT_HEALTH_PORT;
}

const binary = buildIfStale();
const { values: flags } = parseArgs({ options: { "data-dir": { type: "string" } } });
const dataDir = flags["data-dir"] ? resolve(flags["data-dir"]) : join(root, ".shoal", "node-1");
mkdirSync(dataDir, { recursive: true, mode: 0o700 });
const port = await healthPort().catch(() => freePort());
const health = `http://127.0.0.1:${port}`;

const agent = spawn(binary, ["agent", "--data-dir", dataDir, "--health-addr", `127.0.0.1:${port}`, "--node-name", "demo-1"], {
  cwd: root,
  stdio: ["ignore", "inherit", "inherit"],
  detached: true,
});
const exited = new Promise<number>((resolve) => agent.on("exit", (code, signal) => resolve(code ?? (signal ? 128 : 1))));

let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    console.log(`\ndemo: stopping the agent (${signal})…`);
    agent.kill("SIGTERM");
  });
}

const ready = waitForHttp(`${health}/readyz`, { timeoutMs: 30_000, what: "the agent's /readyz" });
const outcome = await Promise.race([ready.then(() => "ready" as const), exited.then(() => "exited" as const)]).catch((error: Error) => {
  console.error(`demo: ${error.message}; stopping the agent`);
  agent.kill("SIGTERM");
  return "failed" as const;
});
if (outcome === "ready") {
  const shoal = relative(root, binary);
  console.log(
    [
      "",
      "Shoal is running: 1 agent (a local cluster comes with later releases).",
      `  curl ${health}/healthz`,
      `  curl ${health}/readyz`,
      `  curl ${health}/metrics`,
      `  curl ${health}/v1/info`,
      `  ${shoal} status --data-dir ${relative(root, dataDir)}`,
      "Press Ctrl-C to stop.",
      "",
    ].join("\n"),
  );
}
const code = await exited;
console.log(`demo: agent exited with code ${code}`);
process.exit(code);
