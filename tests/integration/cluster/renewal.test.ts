/**
 * Certificates renew by themselves and gossip keys rotate on demand, with real processes: a
 * cluster whose certificates live 12 s sees every node renew (new serial, old one revoked) and
 * keep working; `shoal key rotate` makes the leader rotate through Raft; `shoal leave` on a
 * manager is refused until forced, and a worker that leaves forgets its identity.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { cleanup, TestCluster, waitFor, type TestNode } from "./harness.ts";

const LIFETIME_MS = 12_000;
const cluster = new TestCluster();
let manager: TestNode;
let worker: TestNode;

beforeAll(async () => {
  const args = ["--certificate-lifetime-ms", String(LIFETIME_MS), "--key-install-grace-ms", "200"];
  [manager, worker] = (await Promise.all(["r1", "r2"].map((name) => cluster.start(name, { args })))) as [TestNode, TestNode];
  const tokens = cluster.init(manager);
  cluster.join(worker, tokens.worker);
}, 60_000);

afterAll(() => cleanup());

test("nodes renew their certificates before expiry and keep working", async () => {
  const serials = () => new Map(manager.json<{ hostname: string; certificateSerial: string }[]>("node", "ls").map((node) => [node.hostname, node.certificateSerial]));
  const first = serials();
  const firstExpire = Date.now() + LIFETIME_MS;
  try {
    await waitFor(() => {
      const now = serials();
      return now.get("r1") !== first.get("r1") && now.get("r2") !== first.get("r2");
    }, { timeoutMs: LIFETIME_MS * 2, intervalMs: 200, what: "both nodes renewed" });
  } catch (error) {
    console.log(manager.agent.log().split("\n").filter((line) => !line.includes("level=debug")).join("\n"));
    console.log(worker.agent.log().split("\n").filter((line) => !line.includes("level=debug")).join("\n"));
    throw error;
  }
  for (const node of [manager, worker]) {
    await waitFor(() => node.agent.log().includes('msg="running with a new certificate"'), { timeoutMs: 5_000, what: `${node.name} running with its new certificate` });
  }
  // Past the first certificates' expiry, the cluster still answers and accepts writes.
  await waitFor(() => Date.now() > firstExpire, { timeoutMs: LIFETIME_MS * 2, intervalMs: 100, what: "the first certificates' expiry" });
  await waitFor(() => manager.shoal("node", "update", "r2", "--label-add", "renewed=yes").exitCode === 0, { timeoutMs: 10_000, what: "a write after renewal" });
  expect(worker.agent.log()).not.toContain("reason=expired");
  expect(manager.agent.log()).not.toContain("reason=expired");
}, 60_000);

test("shoal key rotate rotates the gossip keys through Raft", async () => {
  await waitFor(() => /gossip key state changed" keyVersion=1/.test(manager.agent.log()), { timeoutMs: 10_000, what: "the first gossip key" });
  const rotation = manager.json<{ rotatesAt: number }>("key", "rotate");
  expect(rotation.rotatesAt).toBeGreaterThan(0);
  await waitFor(() => /gossip key state changed" keyVersion=2/.test(manager.agent.log()), { timeoutMs: 10_000, what: "the rotated key" });
  const usage = manager.shoal("key", "spin");
  expect(usage.exitCode).toBe(2);
}, 30_000);

test("leave: a manager is refused unless forced; a worker leaves and forgets its identity", () => {
  const refused = manager.shoal("leave");
  expect(refused.exitCode).not.toBe(0);
  expect(refused.stderr).toContain("demote it first");
  const left = worker.shoal("leave");
  expect(left.exitCode).toBe(0);
  expect(existsSync(join(worker.dataDir, "cluster"))).toBe(false);
  expect(worker.shoal("leave").stderr).toContain("not in a cluster");
});
