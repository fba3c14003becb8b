/**
 * Cluster formation with real processes on distinct loopback addresses, each with its own data
 * dir: init, manager joins (learner, then voter), a worker join, leader failover under kill -9
 * (timed), restart with the stored identity, token refusals leaving nothing behind, bad API
 * bodies, hostile join requests, a removed node refused with its old certificate, and
 * --force-new-cluster recovery.
 * The steps share one cluster and run in order.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import nacl from "tweetnacl";
import { MetricsRegistry } from "../../../core/api/metrics.ts";
import { encodeHello, requestReply } from "../../../core/cluster/channel.ts";
import { decodeJoinReply } from "../../../core/cluster/join-messages.ts";
import { encodeEnvelope } from "../../../core/common/envelope.ts";
import { dialSecure } from "../../../core/secure/channel/index.ts";
import { formatJoinToken, parseJoinToken } from "../../../core/secure/token.ts";
import { cleanup, metricOf, TestCluster, waitFor, type TestNode } from "./harness.ts";

const cluster = new TestCluster();
let m1: TestNode;
let m2: TestNode;
let m3: TestNode;
let w1: TestNode;
let tokens: { manager: string; worker: string };

/** Node id of `node` as the cluster lists it. */
function idOf(node: TestNode, via: TestNode = m1): string {
  const listed = cluster.list(via).find((entry) => entry.hostname === node.name);
  if (!listed) throw new Error(`${node.name} is not listed`);
  return listed.id;
}

async function controlPost(node: TestNode, path: string, body: string, contentType = "application/json"): Promise<{ status: number; body: { error?: { code: string; message: string } } }> {
  const response = await fetch(`http://localhost${path}`, { method: "POST", unix: join(node.dataDir, "shoal.sock"), body, headers: { "content-type": contentType } });
  return { status: response.status, body: (await response.json()) as { error?: { code: string; message: string } } };
}

beforeAll(async () => {
  [m1, m2, m3, w1] = (await Promise.all(["m1", "m2", "m3", "w1"].map((name) => cluster.start(name)))) as [TestNode, TestNode, TestNode, TestNode];
}, 60_000);

afterAll(() => cleanup());

describe("cluster formation", () => {
  test("init, then two managers join as learners and are promoted to voters, and a worker joins", async () => {
    tokens = cluster.init(m1);
    expect(tokens.manager).toStartWith("SHOAL-1-");
    expect(parseJoinToken(tokens.worker).managers).toEqual([m1.address]);
    cluster.join(m2, tokens.manager);
    cluster.join(m3, tokens.manager);
    const joinStarted = performance.now();
    cluster.join(w1, tokens.worker);
    await waitFor(async () => (await fetch(`${w1.agent.healthUrl}/readyz`)).status === 200, { timeoutMs: 30_000, intervalMs: 20, what: "w1 ready after join" });
    console.log(`join to ready: worker /readyz 200 ${(performance.now() - joinStarted).toFixed(0)} ms after "shoal join" started`);
    await cluster.waitForNodes(m1, (nodes) => nodes.length === 4 && nodes.filter((node) => node.managerStatus === "reachable").length === 2, "two reachable managers and a worker");
    const nodes = cluster.list(m1);
    expect(nodes.find((node) => node.hostname === "m1")?.managerStatus).toBe("leader");
    expect(nodes.find((node) => node.hostname === "w1")).toMatchObject({ role: "worker", availability: "active", address: w1.address });
    // Each manager went through the learner stage before voting.
    for (const manager of [m2, m3]) {
      const id = idOf(manager);
      await waitFor(() => m1.agent.log().includes(`msg="learner promoted to voter" node=${id}`), { timeoutMs: 10_000, what: `promotion of ${manager.name}` });
      expect(m1.agent.log()).toContain(`msg="manager added to raft as a learner" node=${id}`);
    }
    // The binary embeds the checkpoint worker: its managers' WAL checkpoints run off the raft thread.
    for (const manager of [m1, m2, m3]) expect(await metricOf(manager, "shoal_store_checkpoint_worker")).toBe(1);
    // Followers answer node ls (forwarded to the leader) with the same view.
    expect(cluster.list(m3).map((node) => node.hostname)).toEqual(["m1", "m2", "m3", "w1"]);
  }, 90_000);

  test("bad API bodies are refused with clear JSON errors", async () => {
    const notJson = await controlPost(m2, "/v1/cluster/join", "{not json");
    expect(notJson).toMatchObject({ status: 400, body: { error: { code: "invalid_json" } } });
    const unknownField = await controlPost(m2, "/v1/cluster/init", JSON.stringify({ advertise: "x" }));
    expect(unknownField.status).toBe(400);
    expect(unknownField.body.error?.message).toContain('unknown field "advertise"');
    const badUpdate = await controlPost(m1, `/v1/nodes/${idOf(w1)}/update`, JSON.stringify({ availability: "sleeping" }));
    expect(badUpdate.status).toBe(400);
    expect(badUpdate.body.error?.message).toContain("availability");
    const badLabel = await controlPost(m1, `/v1/nodes/${idOf(w1)}/update`, JSON.stringify({ labelAdd: { "=bad": "x" } }));
    expect(badLabel.status).toBe(400);
    const wrongType = await controlPost(m1, "/v1/cluster/leave", JSON.stringify({ force: "yes" }), "text/plain");
    expect(wrongType.status).toBe(415);
  });

  test("node update changes labels and availability; demoting a worker is a no-op; an unknown node is named", async () => {
    const updated = m2.json<{ labels: Record<string, string>; availability: string }>("node", "update", "w1", "--label-add", "zone=a", "--availability", "drain");
    expect(updated).toMatchObject({ labels: { zone: "a" }, availability: "drain" });
    const demoteWorker = m1.shoal("node", "demote", "w1");
    expect(demoteWorker.exitCode).toBe(0);
    const promoteUnknown = m1.shoal("node", "promote", "nosuchnode");
    expect(promoteUnknown.exitCode).not.toBe(0);
    expect(promoteUnknown.stderr).toContain('no node "nosuchnode"');
  });

  test("kill -9 the leader: a new leader is elected, writes continue, and the old leader rejoins by itself", async () => {
    const oldLeader = idOf(m1);
    m1.agent.process.kill("SIGKILL");
    await m1.agent.exited;
    const started = performance.now();
    let newLeader = "";
    await waitFor(async () => {
      newLeader = await cluster.leaderSeenBy(m2);
      return newLeader !== "" && newLeader !== oldLeader;
    }, { timeoutMs: 20_000, intervalMs: 10, what: "a new leader" });
    const failoverMs = performance.now() - started;
    console.log(`leader failover: new leader seen ${failoverMs.toFixed(0)} ms after kill -9 of the leader`);
    const update = m3.shoal("node", "update", "w1", "--label-add", "after=failover");
    expect(update.exitCode).toBe(0);

    await cluster.restart(m1);
    await cluster.waitForNodes(m2, (nodes) => nodes.find((node) => node.hostname === "m1")?.managerStatus === "reachable", "m1 back as a reachable manager");
    expect(existsSync(join(m1.dataDir, "cluster", "identity"))).toBe(true);
    expect(cluster.list(m1).find((node) => node.hostname === "w1")?.labels).toMatchObject({ zone: "a", after: "failover" });
  }, 90_000);

  test("demoting a manager is refused while it would cost the quorum", async () => {
    m3.agent.process.kill("SIGKILL");
    await m3.agent.exited;
    // Voters m1, m2, m3 with m3 down: demoting m2 leaves m1 and m3, of which only m1 is reachable.
    await waitFor(() => cluster.list(m1).find((node) => node.hostname === "m3")?.managerStatus === "unreachable", { timeoutMs: 10_000, what: "m3 unreachable" });
    const refused = m1.shoal("node", "demote", "m2");
    expect(refused.exitCode).not.toBe(0);
    expect(refused.stderr).toContain("would lose the managers' quorum");
    await cluster.restart(m3);
    await cluster.waitForNodes(m1, (nodes) => nodes.filter((node) => node.managerStatus === "reachable").length === 2, "m3 back");
  }, 60_000);

  test("wrong, truncated and rotated tokens, and an address already in use, are refused with a clear message and nothing written", async () => {
    const joiner = await cluster.start("j1");
    const real = parseJoinToken(tokens.worker);
    const wrongSecret = formatJoinToken({ ...real, secret: nacl.randomBytes(32) });
    const otherCluster = formatJoinToken({ ...real, rootPin: nacl.randomBytes(32) });
    const cases: [string, string, RegExp][] = [
      ["wrong secret", wrongSecret, /worker join token is not valid for this cluster/],
      ["another cluster's pin", otherCluster, /not part of the cluster this token was made for/],
      ["truncated", tokens.worker.slice(0, 40), /truncated or mistyped/],
      ["garbage", "SHOAL-1-!!!!", /outside its alphabet/],
    ];
    for (const [what, token, message] of cases) {
      const run = joiner.shoal("join", token);
      expect(run.exitCode, what).not.toBe(0);
      expect(run.stderr, what).toMatch(message);
    }
    const busyPort = joiner.shoal("join", tokens.manager, "--listen-addr", m1.address);
    expect(busyPort.exitCode).not.toBe(0);
    expect(busyPort.stderr).toContain(`cannot listen on ${m1.address}`);
    const rotated = m2.shoal("join-token", "worker", "--rotate", "-q");
    expect(rotated.exitCode).toBe(0);
    const stale = joiner.shoal("join", tokens.worker);
    expect(stale.stderr).toMatch(/rotated/);
    expect(existsSync(join(joiner.dataDir, "cluster"))).toBe(false);
    // The rotated token admits the node; nodes that joined earlier are unaffected.
    cluster.join(joiner, rotated.stdout.trim());
    await cluster.waitForNodes(m1, (nodes) => nodes.some((node) => node.hostname === "j1"), "j1 listed");
    expect(cluster.list(m1).find((node) => node.hostname === "w1")).toBeDefined();
  }, 60_000);

  test("hostile join requests get a refusal and leave the manager serving", async () => {
    const [host, port] = m1.address.split(":") as [string, string];
    const requests = [new Uint8Array([0xff, 0xfe]), encodeEnvelope("cluster.join.req", 1, { kind: "join", role: "worker", proof: new Uint8Array(64), nodeId: "../../etc" }), encodeEnvelope("cluster.join.req", 1, { kind: "renew" })];
    const codes: string[] = [];
    for (const request of requests) {
      const connection = await dialSecure({ host, port: Number(port), metrics: new MetricsRegistry(), credentials: { rootPin: parseJoinToken(tokens.worker).rootPin } });
      connection.send(encodeHello("join"));
      const reply = decodeJoinReply(await requestReply(connection, request, 5_000));
      codes.push(reply.ok ? "accepted" : reply.code);
      connection.close();
    }
    expect(codes).toEqual(["invalid_request", "invalid_request", "certificate_required"]);
    expect(m1.shoal("node", "ls").exitCode).toBe(0);
  });

  test("a node removed with node rm cannot come back with its old certificate, and leaves by itself", async () => {
    const joiner = cluster.nodes.get("j1") as TestNode;
    joiner.agent.process.kill("SIGKILL");
    await joiner.agent.exited;
    const removed = m1.shoal("node", "rm", "j1", "--force");
    expect(removed.exitCode).toBe(0);
    await cluster.restart(joiner);
    await waitFor(() => /certificate was revoked/.test(joiner.agent.log()), { timeoutMs: 20_000, what: "the removed node refused as revoked" });
    // Whichever manager it reached refused it, and counted the refusal.
    let refusals = 0;
    for (const manager of [m1, m2, m3]) refusals += (await metricOf(manager, 'shoal_secure_channel_rejected_total{reason="revoked"}')) ?? 0;
    expect(refusals).toBeGreaterThan(0);
    expect(cluster.list(m1).some((node) => node.hostname === "j1")).toBe(false);
    // Holding no state, the worker learns of its removal from the refusal and leaves by itself.
    await waitFor(() => !existsSync(join(joiner.dataDir, "cluster")), { timeoutMs: 20_000, what: "the removed worker forgetting its identity" });
    expect(joiner.json<{ role: string }>("status").role).toBe("standalone");
  }, 60_000);

  test("init --force-new-cluster on the last manager standing recovers, keeping the state", async () => {
    for (const lost of [m2, m3]) {
      lost.agent.process.kill("SIGKILL");
      await lost.agent.exited;
    }
    await waitFor(async () => (await cluster.leaderSeenBy(m1)) === "", { timeoutMs: 20_000, what: "m1 without a leader" });
    const recovered = m1.shoal("init", "--force-new-cluster");
    expect(recovered.exitCode).toBe(0);
    expect(recovered.stdout).toContain("Recovered cluster");
    const nodes = cluster.list(m1);
    expect(nodes.find((node) => node.hostname === "m1")?.managerStatus).toBe("leader");
    expect(nodes.find((node) => node.hostname === "w1")?.labels).toMatchObject({ zone: "a", after: "failover" });
    expect(m1.shoal("node", "update", "w1", "--label-rm", "after").exitCode).toBe(0);
  }, 60_000);
});
