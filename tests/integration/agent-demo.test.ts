import { afterAll, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { cleanup, tempDir, waitFor } from "./agent-harness.ts";

afterAll(cleanup);

const root = join(import.meta.dir, "..", "..");

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test("npm start's demo, run through the Node bootstrap, stops on SIGTERM leaving nothing running", async () => {
  const dataDir = tempDir();
  const demo = Bun.spawn(["node", join(root, "scripts", "bootstrap.mjs"), "scripts/demo.ts", "--data-dir", dataDir], {
    cwd: root,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  let output = "";
  const drain = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) output += new TextDecoder().decode(chunk);
  };
  const drained = Promise.all([drain(demo.stdout), drain(demo.stderr)]);
  try {
    await waitFor(() => output.includes("Press Ctrl-C to stop."), { timeoutMs: 60_000, what: "the demo to print its instructions" });
    expect(output).toMatch(/curl http:\/\/127\.0\.0\.1:\d+\/readyz/);
    const agentPid = Number(readFileSync(join(dataDir, "shoal.lock"), "utf8"));
    expect(isRunning(agentPid)).toBe(true);

    demo.kill("SIGTERM");
    expect(await demo.exited).toBe(0);
    await drained;
    expect(output).toContain('msg="agent stopped" clean=true');
    expect(isRunning(agentPid)).toBe(false);
    expect(existsSync(join(dataDir, "shoal.lock"))).toBe(false);
  } finally {
    demo.kill("SIGKILL");
  }
}, 90_000);
