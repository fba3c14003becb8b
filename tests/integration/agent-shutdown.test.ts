import { afterAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { cleanup, startAgent, waitFor } from "./agent-harness.ts";

afterAll(cleanup);

/** Starts the agent with a subsystem that never stops; resolves once it is ready. */
function startHangingAgent(shutdownTimeoutMs: number) {
  return startAgent({
    command: [process.execPath, join(import.meta.dir, "agent-hanging-main.ts")],
    args: ["--shutdown-timeout-ms", String(shutdownTimeoutMs)],
  });
}

describe("shutdown of an agent with a subsystem that hangs", () => {
  test("a second signal exits at once with 130 and releases the lock", async () => {
    const agent = await startHangingAgent(600_000);
    agent.process.kill("SIGTERM");
    await waitFor(() => agent.log().includes("agent stopping"), { timeoutMs: 10_000, what: "shutdown to begin" });
    expect(await agent.stop("SIGINT")).toBe(130);
    expect(agent.log()).toContain("second signal received; exiting without finishing shutdown");
    expect(existsSync(join(agent.dataDir, "shoal.lock"))).toBe(false);
  }, 30_000);

  test("without a second signal the shutdown budget still ends the process, with exit 1", async () => {
    const agent = await startHangingAgent(300);
    expect(await agent.stop("SIGTERM")).toBe(1);
    expect(agent.log()).toMatch(/msg="shutdown step did not finish in time" step="stop hanging"/);
    expect(existsSync(join(agent.dataDir, "shoal.lock"))).toBe(false);
  }, 30_000);
});
