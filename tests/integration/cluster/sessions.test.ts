/**
 * Dispatcher sessions and gossip with real processes on distinct loopback addresses, each with
 * its own data dir: three managers and three workers; every node `ready` in `node ls` and on
 * `/readyz` with gossip joined (time from `shoal join` to ready measured); a killed worker turns
 * `down` and, restarted, `ready`; kill -9 of the leader: a new leader (timed), its workers fail
 * over and writes continue; gossip keys rotated three times while a worker is offline, then every
 * node — that worker too, at once after its restart — gossiping with the newest keyring and no
 * packet dropped for an unknown key. Heartbeats run at 500 ms (down after 1.5 s) so the
 * deadlines stay short; the steps share one cluster and run in order.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { cleanup, metricOf, TestCluster, waitFor, type ListedNode, type TestNode } from "./harness.ts";

const HEARTBEAT_MS = 500;
const AGENT_ARGS = ["--heartbeat-period-ms", String(HEARTBEAT_MS), "--gossip-profile", "local", "--key-install-grace-ms", "1000"];
const MANAGERS = ["m1", "m2", "m3"];
const WORKERS = ["w1", "w2", "w3"];

const cluster = new TestCluster();
const nodes = new Map<string, TestNode>();
const node = (name: string) => nodes.get(name) as TestNode;

/** What `GET /v1/gossip` on the control socket answers. */
interface GossipStatus {
  keyringVersion: number;
  joined: boolean;
  liveMembers: number;
  members: { name: string; state: string; meta?: { role: string; hostname: string; address: string } }[];
}

async function control<T>(target: TestNode, path: string): Promise<T> {
  const response = await fetch(`http://localhost${path}`, { unix: join(target.dataDir, "shoal.sock") });
  return (await response.json()) as T;
}

async function readyz(target: TestNode): Promise<{ status: string; checks: { name: string; ok: boolean; detail?: string }[] }> {
  return (await fetch(`${target.agent.healthUrl}/readyz`)).json() as Promise<{ status: string; checks: { name: string; ok: boolean; detail?: string }[] }>;
}

/** The value of one series in `target`'s /metrics, 0 when absent. */
const metric = async (target: TestNode, series: string): Promise<number> => (await metricOf(target, series)) ?? 0;

const statusOf = (listed: ListedNode[], name: string) => listed.find((entry) => entry.hostname === name)?.status;
const live = () => [...nodes.values()].filter((candidate) => candidate.agent.process.exitCode === null && !candidate.agent.process.killed);

/** Polls until `name` is `status` in `via`'s node ls; returns the ms waited. */
function waitForStatus(via: TestNode, name: string, status: string, what: string, timeoutMs = 20_000): Promise<number> {
  return cluster.waitForNodes(via, (listed) => statusOf(listed, name) === status, what, timeoutMs);
}

beforeAll(async () => {
  for (const started of await Promise.all([...MANAGERS, ...WORKERS].map((name) => cluster.start(name, { args: AGENT_ARGS })))) nodes.set(started.name, started);
}, 60_000);

afterAll(() => cleanup());

describe("dispatcher sessions and gossip", () => {
  test("init, two manager joins and three worker joins: every node ready, with a session and gossip joined", async () => {
    const tokens = cluster.init(node("m1"));
    const joinToReady: Record<string, number> = {};
    for (const name of [...MANAGERS.slice(1), ...WORKERS]) {
      const joining = node(name);
      const started = performance.now();
      cluster.join(joining, name.startsWith("m") ? tokens.manager : tokens.worker);
      await waitFor(async () => (await readyz(joining)).status === "ready", { timeoutMs: 20_000, intervalMs: 25, what: `${name} /readyz ready` });
      joinToReady[name] = Math.round(performance.now() - started);
    }
    console.log(`shoal join -> /readyz ready (session open, keyring held, gossip joined), ms: ${JSON.stringify(joinToReady)}`);

    await cluster.waitForNodes(node("m1"), (listed) => listed.length === 6 && listed.every((entry) => entry.status === "ready"), "six ready nodes in node ls");
    const listed = cluster.list(node("m2"));
    expect(listed.map(({ hostname, role, address, availability }) => ({ hostname, role, address, availability })).sort((a, b) => a.hostname.localeCompare(b.hostname))).toEqual(
      [...nodes.values()].map((target) => ({ hostname: target.name, role: target.name.startsWith("m") ? "manager" : "worker", address: target.address, availability: "active" })),
    );
    expect(listed.filter((entry) => entry.role === "manager").map((entry) => entry.managerStatus).sort()).toEqual(["leader", "reachable", "reachable"]);
    for (const target of nodes.values()) {
      await waitFor(async () => (await control<GossipStatus>(target, "/v1/gossip")).liveMembers === 6, { timeoutMs: 15_000, what: `${target.name} gossiping with all six` });
      const checks = (await readyz(target)).checks.map((check) => check.name);
      expect(checks).toEqual(expect.arrayContaining(["dispatcher", "gossip"]));
    }
    expect(await metric(node("w1"), "shoal_dispatcher_session_open")).toBe(1);
    // Every member publishes its role, hostname and cluster address in its gossip metadata.
    const seen = (await control<GossipStatus>(node("w3"), "/v1/gossip")).members.map((member) => member.meta);
    expect(seen).toEqual(expect.arrayContaining([...nodes.values()].map((target) => ({ role: target.name.startsWith("m") ? "manager" : "worker", hostname: target.name, address: target.address }))));
  }, 90_000);

  test("a killed worker turns down after missed heartbeats and, restarted with its stored identity, ready", async () => {
    const worker = node("w2");
    worker.agent.process.kill("SIGKILL");
    await worker.agent.exited;
    const downMs = await waitForStatus(node("m2"), "w2", "down", "w2 down after kill -9");
    const restartedAt = performance.now();
    await cluster.restart(worker, { args: AGENT_ARGS });
    await waitForStatus(node("m2"), "w2", "ready", "w2 ready after restart");
    const readyMs = performance.now() - restartedAt;
    console.log(`worker kill -9 -> down in node ls: ${downMs.toFixed(0)} ms (3 missed ${HEARTBEAT_MS} ms heartbeats); restart -> ready: ${readyMs.toFixed(0)} ms`);
    expect(downMs).toBeLessThan(15_000);
    await waitFor(async () => (await readyz(worker)).status === "ready", { timeoutMs: 15_000, what: "w2 /readyz after restart" });
  }, 60_000);

  test("kill -9 the leader: a new leader, every node keeps or regains a session, the old leader is down, writes continue", async () => {
    const before = cluster.list(node("m2"));
    const leaderName = before.find((entry) => entry.managerStatus === "leader")?.hostname as string;
    const leader = node(leaderName);
    const oldLeaderId = before.find((entry) => entry.hostname === leaderName)?.id as string;
    const survivor = node(MANAGERS.find((name) => name !== leaderName) as string);
    leader.agent.process.kill("SIGKILL");
    await leader.agent.exited;
    const started = performance.now();
    await waitFor(async () => {
      const seen = await cluster.leaderSeenBy(survivor);
      return seen !== "" && !oldLeaderId.startsWith(seen) && !seen.startsWith(oldLeaderId);
    }, { timeoutMs: 20_000, intervalMs: 10, what: "a new leader" });
    console.log(`leader kill -9 -> new leader seen by ${survivor.name}: ${(performance.now() - started).toFixed(0)} ms`);

    const downMs = await waitForStatus(survivor, leaderName, "down", `${leaderName} down after kill -9`);
    console.log(`killed leader marked down ${downMs.toFixed(0)} ms after the new leader`);
    for (const target of live()) {
      await waitFor(async () => (await readyz(target)).checks.find((check) => check.name === "dispatcher")?.ok === true, { timeoutMs: 15_000, what: `${target.name} session after the leader died` });
    }
    expect(survivor.shoal("node", "update", "w1", "--label-add", "after=leader-kill").exitCode).toBe(0);
    expect(cluster.list(survivor).every((entry) => entry.hostname === leaderName || entry.status === "ready")).toBe(true);

    await cluster.restart(leader, { args: AGENT_ARGS });
    await waitForStatus(survivor, leaderName, "ready", `${leaderName} ready after restart`);
  }, 90_000);

  test("gossip keys rotated three times, one worker offline throughout: every node, that worker too once back, holds the newest keyring, gossips with all and drops nothing for an unknown key", async () => {
    const offline = node("w3");
    offline.agent.process.kill("SIGKILL");
    await offline.agent.exited;
    let leaderName = "";
    await waitFor(() => {
      const listed = node("m2").shoal("node", "ls", "--json");
      if (listed.exitCode !== 0) return false;
      leaderName = (JSON.parse(listed.stdout) as ListedNode[]).find((entry) => entry.managerStatus === "leader")?.hostname ?? "";
      return leaderName !== "";
    }, { timeoutMs: 15_000, what: "a leader in node ls" });
    const manager = node(leaderName);
    const startVersion = (await control<GossipStatus>(manager, "/v1/gossip")).keyringVersion;
    for (let rotation = 1; rotation <= 3; rotation++) {
      expect(manager.shoal("key", "rotate").exitCode).toBe(0);
      const target = startVersion + rotation;
      for (const member of nodes.values()) {
        if (member === offline) continue;
        await waitFor(async () => (await control<GossipStatus>(member, "/v1/gossip")).keyringVersion >= target, { timeoutMs: 30_000, what: `${member.name} holding keyring ${target}` });
      }
    }
    const latest = startVersion + 3;
    const restartedAt = performance.now();
    await cluster.restart(offline, { args: AGENT_ARGS });
    await waitFor(async () => (await readyz(offline)).status === "ready", { timeoutMs: 20_000, intervalMs: 25, what: "w3 ready after missing three rotations" });
    console.log(`worker offline across 3 rotations: restart -> /readyz ready (keyring ${latest}, gossip joined) in ${(performance.now() - restartedAt).toFixed(0)} ms`);
    expect((await control<GossipStatus>(offline, "/v1/gossip")).keyringVersion).toBe(latest);
    for (const member of nodes.values()) {
      await waitFor(async () => (await control<GossipStatus>(member, "/v1/gossip")).liveMembers === 6, { timeoutMs: 15_000, what: `${member.name} gossiping with all six after the rotations` });
      expect(await metric(member, 'shoal_gossip_packets_dropped_total{reason="unknownKey"}')).toBe(0);
      expect(await metric(member, 'shoal_dispatcher_keyrings_rejected_total{reason="untrustedSender"}')).toBe(0);
    }
  }, 120_000);
});
