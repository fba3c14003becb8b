/**
 * Role changes with real processes: a worker promoted to manager joins Raft as a learner and is
 * promoted to voter; the leader demoted hands leadership over first, leaves Raft, drops the root
 * key and its Raft store, and runs on as a worker; a manager cannot be removed without demotion.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { cleanup, TestCluster, waitFor, type TestNode } from "./harness.ts";

const cluster = new TestCluster();
let a1: TestNode;
let a2: TestNode;
let a3: TestNode;

beforeAll(async () => {
  [a1, a2, a3] = (await Promise.all(["a1", "a2", "a3"].map((name) => cluster.start(name)))) as [TestNode, TestNode, TestNode];
  const tokens = cluster.init(a1);
  cluster.join(a2, tokens.manager);
  cluster.join(a3, tokens.worker);
  await cluster.waitForNodes(a1, (nodes) => nodes.length === 3 && nodes.some((node) => node.managerStatus === "reachable"), "a2 reachable, a3 listed");
}, 60_000);

afterAll(() => cleanup());

test("a promoted worker becomes a voting manager", async () => {
  expect(existsSync(join(a3.dataDir, "cluster", "root.key"))).toBe(false);
  expect(a1.shoal("node", "promote", "a3").exitCode).toBe(0);
  await cluster.waitForNodes(a1, (nodes) => nodes.find((node) => node.hostname === "a3")?.managerStatus === "reachable", "a3 a reachable manager");
  const id = cluster.list(a1).find((node) => node.hostname === "a3")?.id;
  await waitFor(() => a1.agent.log().includes(`msg="learner promoted to voter" node=${id}`), { timeoutMs: 15_000, what: "a3 promoted to voter" });
  expect(existsSync(join(a3.dataDir, "cluster", "root.key"))).toBe(true);
  // The new manager serves the cluster API itself.
  expect(cluster.list(a3).map((node) => node.hostname)).toEqual(["a1", "a2", "a3"]);
}, 60_000);

test("a manager is removed only after demotion", () => {
  const refused = a1.shoal("node", "rm", "a2");
  expect(refused.exitCode).not.toBe(0);
  expect(refused.stderr).toContain("demote it first");
});

test("the demoted leader hands leadership over first, then runs on as a worker", async () => {
  expect(await cluster.leaderSeenBy(a1)).toBe(cluster.list(a1).find((node) => node.hostname === "a1")?.id ?? "a1 not listed");
  expect(a1.json<{ role: string }>("status").role).toBe("manager");
  expect(a1.shoal("node", "demote", "a1").exitCode).toBe(0);
  await waitFor(() => a1.agent.log().includes('msg="demoted: handing leadership over before leaving raft"'), { timeoutMs: 15_000, what: "leadership handed over" });
  await cluster.waitForNodes(a2, (nodes) => {
    const a1Listed = nodes.find((node) => node.hostname === "a1");
    return a1Listed?.role === "worker" && nodes.some((node) => node.managerStatus === "leader" && node.hostname !== "a1");
  }, "a1 a worker under a new leader", 30_000);
  await waitFor(() => !existsSync(join(a1.dataDir, "cluster", "root.key")) && !existsSync(join(a1.dataDir, "cluster", "raft")), { timeoutMs: 20_000, what: "a1 dropped its root key and raft store" });
  expect(a1.shoal("node", "ls").stderr).toContain("this node is a worker");
  expect(a1.json<{ role: string }>("status").role).toBe("worker");
  expect(a2.shoal("node", "update", "a1", "--label-add", "was=leader").exitCode).toBe(0);
}, 90_000);
