import { afterAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { cleanup, freePort, tempDir, waitFor, waitForHttp } from "./agent-harness.ts";

afterAll(cleanup);

/** Starts the agent with a subsystem that never stops; resolves once it is ready. */
async function startHangingAgent(extraArgs: string[]) {
  const dataDir = tempDir();
  const port = await freePort();
  const child = Bun.spawn(
    [process.execPath, join(import.meta.dir, "agent-hanging-main.ts"), "agent", "--data-dir", dataDir, "--health-addr", `127.0.0.1:${port}`, ...extraArgs],
    { stdin: "ignore", stdout: "ignore", stderr: "pipe" },
  );
  let log = "";
  const drained = (async () => {
    for await (const chunk of child.stderr) log += new TextDecoder().decode(chunk);
  })();
  await waitForHttp(`http://127.0.0.1:${port}/readyz`, { timeoutMs: 20_000, what: "agent /readyz" });
  const exited = child.exited.then(async (code) => {
    await drained;
    return code;
  });
  return { child, dataDir, exited, log: () => log };
}

describe("shutdown of an agent with a subsystem that hangs", () => {
  test("a second signal exits at once with 130 and releases the lock", async () => {
    const agent = await startHangingAgent(["--shutdown-timeout-ms", "600000"]);
    agent.child.kill("SIGTERM");
    await waitFor(() => agent.log().includes("agent stopping"), { timeoutMs: 10_000, what: "shutdown to begin" });
    agent.child.kill("SIGINT");
    expect(await agent.exited).toBe(130);
    expect(agent.log()).toContain("second signal received; exiting without finishing shutdown");
    expect(existsSync(join(agent.dataDir, "shoal.lock"))).toBe(false);
  }, 30_000);

  test("without a second signal the shutdown budget still ends the process, with exit 1", async () => {
    const agent = await startHangingAgent(["--shutdown-timeout-ms", "300"]);
    agent.child.kill("SIGTERM");
    expect(await agent.exited).toBe(1);
    expect(agent.log()).toMatch(/msg="shutdown step did not finish in time" step="stop hanging"/);
    expect(existsSync(join(agent.dataDir, "shoal.lock"))).toBe(false);
  }, 30_000);
});
