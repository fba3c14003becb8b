/**
 * Real raft node processes on loopback with real disks: kill -9 the leader under write load,
 * check that a new leader takes over, that no acknowledged write is lost, that the killed node
 * catches up through a snapshot, that a node added later catches up as a learner and is
 * promoted, and that garbage on the raft port is counted and shrugged off.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect } from "node:net";
import { nodeStatus, RaftCluster } from "../../../scripts/bench/raft/cluster.ts";
import { waitFor } from "../../../scripts/bench/lib/wait.ts";

/** A write load that records exactly which writes were acknowledged. */
class WriteLoad {
  readonly acked = new Map<string, string>();
  failures = 0;
  private running = true;
  private readonly workers: Promise<void>[] = [];

  constructor(private readonly cluster: RaftCluster, writers: number) {
    for (let w = 0; w < writers; w++) this.workers.push(this.run(w));
  }

  private async run(worker: number): Promise<void> {
    for (let i = 0; this.running; i++) {
      const key = `w${worker}-${i}`;
      const value = `value-${worker}-${i}-${"x".repeat(200)}`;
      const live = [...this.cluster.nodes.values()].filter((node) => node.process);
      const target = live[i % live.length];
      if (!target) continue;
      try {
        const response = await fetch(`${target.url}/kv/${key}`, { method: "PUT", body: value, signal: AbortSignal.timeout(5000) });
        await response.arrayBuffer();
        if (response.status === 204) this.acked.set(key, value);
        else this.failures++;
      } catch {
        this.failures++;
        await Bun.sleep(10);
      }
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.workers);
  }
}

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(name));
  return line ? Number(line.slice(line.lastIndexOf(" ") + 1)) : 0;
}

async function readAll(url: string, expected: Map<string, string>): Promise<string[]> {
  const wrong: string[] = [];
  const keys = [...expected.keys()];
  for (let i = 0; i < keys.length; i += 32) {
    await Promise.all(keys.slice(i, i + 32).map(async (key) => {
      const response = await fetch(`${url}/kv/${key}`);
      const body = await response.text();
      if (response.status !== 200 || body !== expected.get(key)) wrong.push(`${key}: ${response.status}`);
    }));
  }
  return wrong;
}

describe("a 3-process raft cluster", () => {
  const cluster = new RaftCluster({ size: 3, snapshotThreshold: 100, keepEntries: 20 });
  beforeAll(() => cluster.start(), 30_000);
  afterAll(() => cluster.stop());

  test("kill -9 of the leader under load: a new leader within the deadline, no acked write lost, the victim catches up by snapshot", async () => {
    const load = new WriteLoad(cluster, 8);
    try {
      await waitFor(() => load.acked.size >= 200, { timeoutMs: 20_000, what: "200 acked writes" });
      const victim = await cluster.leader();
      await cluster.kill(victim);
      const killedAt = performance.now();
      const before = load.acked.size;
      const successor = await cluster.leader(5_000);
      expect(successor).not.toBe(victim);
      const resumedMs = await waitFor(() => load.acked.size > before + 8, { timeoutMs: 10_000, what: "writes to resume after the failover" });
      console.log(`raft failover: new leader ${successor}; writes resumed ${Math.round(performance.now() - killedAt)} ms after the kill`);
      expect(resumedMs).toBeLessThan(10_000);
      await waitFor(() => load.acked.size >= before + 400, { timeoutMs: 20_000, what: "400 more acked writes after the failover" });
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${cluster.logs()}`);
    } finally {
      await load.stop();
    }

    const leader = cluster.get(await cluster.leader());
    expect(await readAll(leader.url, load.acked)).toEqual([]);

    const victim = [...cluster.nodes.values()].find((node) => !node.process);
    if (!victim) throw new Error("the victim should be down");
    cluster.restart(victim.id);
    const target = await nodeStatus(leader.url);
    await waitFor(async () => {
      const status = await nodeStatus(victim.url);
      return status.applied >= target.commit;
    }, { timeoutMs: 20_000, what: `${victim.id} to catch up` });
    expect(await metric(victim.url, "shoal_raft_snapshots_installed_total")).toBeGreaterThanOrEqual(1);
    expect(await readAll(victim.url, load.acked)).toEqual([]);
  }, 90_000);

  test("a node added later catches up as a learner, is promoted, and serves", async () => {
    const leader = cluster.get(await cluster.leader());
    for (let i = 0; i < 50; i++) await fetch(`${leader.url}/kv/before-${i}`, { method: "PUT", body: `b${i}` });
    const added = await cluster.addLearner("n4");
    await waitFor(async () => {
      const status = await nodeStatus(added.url);
      return status.conf.learners.includes("n4") && (await fetch(`${added.url}/kv/before-49`)).status === 200;
    }, { timeoutMs: 20_000, what: "the learner to catch up" });
    await cluster.promote("n4");
    const status = await nodeStatus(added.url);
    expect(status.conf.voters).toContain("n4");
    expect((await fetch(`${added.url}/kv/after`, { method: "PUT", body: "yes" })).status).toBe(204);
    expect(await (await fetch(`${leader.url}/kv/after`)).text()).toBe("yes");
  }, 60_000);

  test("malformed frames on the raft port are counted, close that connection, and the node still serves", async () => {
    const node = [...cluster.nodes.values()].find((candidate) => candidate.process);
    if (!node) throw new Error("no running node");
    const garbage = [Buffer.from([0, 0, 0, 5, 0xff, 0xfe, 0xfd, 0xfc, 0xfb]), Buffer.from([0x7f, 0xff, 0xff, 0xff])];
    for (const bytes of garbage) {
      await new Promise<void>((resolve, reject) => {
        const socket = connect(node.raftPort, node.host, () => socket.write(bytes));
        socket.on("close", () => resolve());
        socket.on("error", reject);
      });
    }
    expect(await metric(node.url, 'shoal_raft_transport_frames_rejected_total{reason="malformed"}')).toBeGreaterThanOrEqual(1);
    expect(await metric(node.url, 'shoal_raft_transport_frames_rejected_total{reason="oversized"}')).toBeGreaterThanOrEqual(1);
    expect((await fetch(`${node.url}/kv/still-alive`, { method: "PUT", body: "ok" })).status).toBe(204);
    expect(await (await fetch(`${node.url}/kv/still-alive`)).text()).toBe("ok");
  }, 30_000);

  test("a bad peer address on the HTTP front is refused with 400, and the node still serves", async () => {
    const node = [...cluster.nodes.values()].find((candidate) => candidate.process);
    if (!node) throw new Error("no running node");
    for (const raft of ["", "no-port", "127.0.0.1:99999"]) {
      const answer = await fetch(`${node.url}/peers/stranger?raft=${encodeURIComponent(raft)}`, { method: "POST" });
      expect(answer.status).toBe(400);
      expect((await answer.json()) as { code: string }).toMatchObject({ code: "bad_address" });
    }
    expect((await fetch(`${node.url}/kv/after-bad-peer`, { method: "PUT", body: "ok" })).status).toBe(204);
  }, 30_000);
});
