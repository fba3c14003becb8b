import { afterAll, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { cleanup, isRunning, tempDir, waitFor } from "./agent-harness.ts";

afterAll(cleanup);

const root = join(import.meta.dir, "..", "..");

test("npm start's demo, run through the Node bootstrap, forms a 3-agent cluster and stops on SIGTERM leaving nothing running", async () => {
  const dataDir = tempDir();
  const demo = Bun.spawn(["node", join(root, "scripts", "bootstrap.mjs"), "scripts/demo.ts", "--data-dir", dataDir], {
    cwd: root,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  let output = "";
  const drain = async (stream: ReadableStream<Uint8Array>) => {
    // One streaming decoder per pipe: the demo prints "…", which a chunk boundary may split.
    const decoder = new TextDecoder();
    for await (const chunk of stream) output += decoder.decode(chunk, { stream: true });
  };
  const drained = Promise.all([drain(demo.stdout), drain(demo.stderr)]);
  const nodeDirs = [1, 2, 3].map((n) => join(dataDir, `node-${n}`));
  try {
    await waitFor(() => output.includes("Press Ctrl-C to stop."), { timeoutMs: 90_000, what: "the demo to print its instructions" });
    expect(output).toMatch(/curl http:\/\/127\.0\.0\.1:\d+\/readyz/);
    expect(output).toContain("demo: 3/3 nodes ready in node ls, 3/3 agents ready (/readyz)");
    const table = output.slice(output.indexOf("ID "), output.indexOf("Shoal is running"));
    expect(table.match(/\bready\b/g)).toHaveLength(3);
    expect(table).toMatch(/demo-1 +manager +leader/);
    const agentPids = nodeDirs.map((dir) => Number(readFileSync(join(dir, "shoal.lock"), "utf8")));
    expect(agentPids.every(isRunning)).toBe(true);

    demo.kill("SIGTERM");
    expect(await demo.exited).toBe(0);
    await drained;
    for (const dir of nodeDirs) {
      expect(readFileSync(join(dir, "agent.log"), "utf8")).toContain('msg="agent stopped" clean=true');
      expect(existsSync(join(dir, "shoal.lock"))).toBe(false);
    }
    expect(agentPids.some(isRunning)).toBe(false);
  } finally {
    demo.kill("SIGKILL");
  }
}, 150_000);
