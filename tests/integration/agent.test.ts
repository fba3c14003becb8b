import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import packageJson from "../../package.json" with { type: "json" };
import type { ErrorBody } from "../../core/api/errors.ts";
import type { NodeInfo } from "../../core/api/health.ts";
import { cleanup, runShoal, shoalBinary, startAgent, tempDir, waitFor, type AgentProcess } from "./agent-harness.ts";

afterAll(cleanup);

/** Calls the agent's control API over its unix socket. */
async function control(agent: AgentProcess, method: string, path: string, init: { body?: string; type?: string } = {}) {
  const response = await fetch(`http://localhost${path}`, {
    method,
    unix: join(agent.dataDir, "shoal.sock"),
    body: init.body,
    headers: init.type ? { "content-type": init.type } : {},
  });
  return { status: response.status, body: (await response.json()) as Partial<ErrorBody> & Record<string, unknown> };
}

describe("a running agent", () => {
  let agent: AgentProcess;

  test("starts from the compiled binary and answers /healthz", async () => {
    shoalBinary();
    agent = await startAgent();
    const response = await fetch(`${agent.healthUrl}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "ok" });
  }, 60_000);

  test("/readyz is 200 and lists the passing checks", async () => {
    const response = await fetch(`${agent.healthUrl}/readyz`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { status: string; checks: unknown[] };
    expect(body.status).toBe("ready");
    expect(body.checks).toContainEqual({ name: "agent", ok: true, detail: "agent is running" });
  });

  test("/metrics is Prometheus text with process CPU, memory and uptime", async () => {
    const response = await fetch(`${agent.healthUrl}/metrics`);
    expect(response.headers.get("content-type")).toStartWith("text/plain; version=0.0.4");
    const text = await response.text();
    expect(text).toMatch(/^# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total \d/m);
    expect(Number(/^process_resident_memory_bytes (\d+)/m.exec(text)?.[1])).toBeGreaterThan(1 << 20);
    expect(text).toMatch(/^shoal_uptime_seconds \d/m);
    expect(text).toContain(`shoal_build_info{version="${packageJson.version}"`);
    expect(text).toMatch(/^shoal_http_requests_total\{server="health",route="\/readyz",code="200"\} [1-9]/m);
  });

  test("/v1/info reports version, the persisted node id and the role", async () => {
    const info = await (await fetch(`${agent.healthUrl}/v1/info`)).json();
    const nodeId = readFileSync(join(agent.dataDir, "node-id"), "utf8").trim();
    expect(info).toMatchObject({ version: packageJson.version, nodeId, nodeName: "test-node", role: "standalone" });
    expect(nodeId).toMatch(/^[0-9a-f]{32}$/);
  });

  test("unknown health routes answer a JSON 404", async () => {
    const response = await fetch(`${agent.healthUrl}/nope`);
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ error: { code: "not_found", message: "no route for GET /nope" } });
  });

  test("shoal status prints a human summary and --json the full status", async () => {
    const human = runShoal(["status", "--data-dir", agent.dataDir]);
    expect(human.exitCode).toBe(0);
    expect(human.stdout).toMatch(/^Node: +test-node \([0-9a-f]{32}\)$/m);
    expect(human.stdout).toMatch(/^Ready: +yes$/m);
    expect(human.stdout).toContain(`Health:    ${agent.healthUrl}/readyz`);
    const json = runShoal(["status", "--json"], { SHOAL_DATA_DIR: agent.dataDir });
    expect(json.exitCode).toBe(0);
    const status = JSON.parse(json.stdout);
    expect(status).toMatchObject({ nodeName: "test-node", pid: agent.process.pid, dataDir: agent.dataDir, role: "standalone" });
    expect(status.readiness.ready).toBe(true);
  });

  test("the control socket is private to the agent's user", () => {
    expect(statSync(join(agent.dataDir, "shoal.sock")).mode & 0o777).toBe(0o600);
  });

  test("control API validates JSON bodies and answers errors as {error:{code,message}}", async () => {
    const cases: Array<[{ body?: string; type?: string }, number, string]> = [
      [{ body: '{"level":"debug"}' }, 415, "unsupported_media_type"],
      [{ body: "{level:", type: "application/json" }, 400, "invalid_json"],
      [{ body: '{"level":"loud"}', type: "application/json" }, 400, "invalid_body"],
      [{ body: '{"level":"info","extra":1}', type: "application/json" }, 400, "invalid_body"],
      [{ body: "[]", type: "application/json" }, 400, "invalid_body"],
      [{ body: `"${"x".repeat(2 << 20)}"`, type: "application/json" }, 413, "body_too_large"],
    ];
    for (const [init, status, code] of cases) {
      const reply = await control(agent, "PUT", "/v1/agent/log-level", init);
      expect(reply.status).toBe(status);
      expect(reply.body.error?.code).toBe(code);
      expect(typeof reply.body.error?.message).toBe("string");
    }
    const missing = await control(agent, "GET", "/v1/nothing");
    expect(missing).toEqual({ status: 404, body: { error: { code: "not_found", message: "no route for GET /v1/nothing" } } });
    expect((await fetch(`${agent.healthUrl}/healthz`)).status).toBe(200);
  });

  test("the log level changes at run time through the control API", async () => {
    const reply = await control(agent, "PUT", "/v1/agent/log-level", { body: '{"level":"warn"}', type: "application/json" });
    expect(reply).toEqual({ status: 200, body: { level: "warn" } });
    expect(JSON.parse(runShoal(["status", "--json", "--data-dir", agent.dataDir]).stdout).logLevel).toBe("warn");
    // At warn, the info line announcing the change to warn is dropped; back at info it shows.
    await control(agent, "PUT", "/v1/agent/log-level", { body: '{"level":"info"}', type: "application/json" });
    await waitFor(() => agent.log().includes('msg="log level changed" newLevel=info'), { timeoutMs: 5000, what: "log line" });
    expect(agent.log()).not.toContain("newLevel=warn");
  });

  test("a second agent on the same data dir is refused with exit 4, and the first keeps running", () => {
    const second = runShoal(["agent", "--data-dir", agent.dataDir, "--health-addr", "127.0.0.1:0"]);
    expect(second.exitCode).toBe(4);
    expect(second.stderr).toContain(`data dir ${agent.dataDir} is in use by another agent (pid ${agent.process.pid})`);
    expect(readFileSync(join(agent.dataDir, "shoal.lock"), "utf8").trim()).toBe(String(agent.process.pid));
  });

  test("SIGTERM shuts down cleanly: exit 0, lock and socket removed", async () => {
    expect(await agent.stop("SIGTERM")).toBe(0);
    expect(existsSync(join(agent.dataDir, "shoal.lock"))).toBe(false);
    expect(existsSync(join(agent.dataDir, "shoal.sock"))).toBe(false);
    expect(agent.log()).toMatch(/msg="agent stopped" clean=true/);
  }, 20_000);

  test("status of a stopped agent exits 5", () => {
    const result = runShoal(["status", "--data-dir", agent.dataDir]);
    expect(result.exitCode).toBe(5);
    expect(result.stderr).toMatch(/^shoal status: cannot reach the agent at /);
  });
});

describe("agent lifecycle across restarts", () => {
  test("SIGINT also shuts down cleanly, and the node id survives a restart", async () => {
    const first = await startAgent({ args: ["--log-format", "json"], env: { SHOAL_LOG_LEVL: "debug" } });
    const nodeId = ((await (await fetch(`${first.healthUrl}/v1/info`)).json()) as NodeInfo).nodeId;
    expect(await first.stop("SIGINT")).toBe(0);
    const lines = first.log().trim().split("\n").map((line) => JSON.parse(line));
    expect(lines.every((line) => typeof line.subsystem === "string" && typeof line.ts === "string")).toBe(true);
    expect(lines.map((line) => line.msg)).toEqual(expect.arrayContaining(["agent started", "shutdown requested", "agent stopped"]));
    expect(lines).toContainEqual(expect.objectContaining({ level: "warn", msg: "unknown environment variable ignored", name: "SHOAL_LOG_LEVL" }));

    const second = await startAgent({ dataDir: first.dataDir });
    expect(((await (await fetch(`${second.healthUrl}/v1/info`)).json()) as NodeInfo).nodeId).toBe(nodeId);
    expect(await second.stop()).toBe(0);
  }, 60_000);

  test("a stale lock left by a dead process is taken over", async () => {
    const dead = Bun.spawnSync(["true"]);
    const first = await startAgent();
    expect(await first.stop()).toBe(0);
    await Bun.write(join(first.dataDir, "shoal.lock"), `${dead.pid}\n`);
    const second = await startAgent({ dataDir: first.dataDir });
    expect(readFileSync(join(first.dataDir, "shoal.lock"), "utf8").trim()).toBe(String(second.process.pid));
    expect(await second.stop()).toBe(0);
  }, 60_000);

  test("after kill -9, the lock and socket left behind do not stop the next agent", async () => {
    const first = await startAgent();
    expect(await first.stop("SIGKILL")).not.toBe(0);
    expect(existsSync(join(first.dataDir, "shoal.lock"))).toBe(true);
    expect(runShoal(["status", "--data-dir", first.dataDir]).exitCode).toBe(5);
    const second = await startAgent({ dataDir: first.dataDir });
    expect(runShoal(["status", "--data-dir", first.dataDir]).exitCode).toBe(0);
    expect(await second.stop()).toBe(0);
  }, 60_000);

  test("a health port already in use fails with exit 1 and names the address", async () => {
    const holder = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("busy") });
    try {
      const result = runShoal(["agent", "--data-dir", tempDir(), "--health-addr", `127.0.0.1:${holder.port}`]);
      expect(result.exitCode).toBe(1);
      expect(result.stderr).toContain(`cannot listen for the health server on 127.0.0.1:${holder.port}`);
    } finally {
      holder.stop(true);
    }
  });
});
