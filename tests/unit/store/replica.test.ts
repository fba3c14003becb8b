import { afterEach, expect, test } from "bun:test";
import { SeededRandom } from "../../../core/common/random.ts";
import type { Message } from "../../../core/raft/types.ts";
import { encodeKvCommand, KvStateMachine, type KvResult } from "../../../core/store/kv.ts";
import { openReplica } from "../../../core/store/open-replica.ts";
import { DurableStorage } from "../../../core/store/raft-storage.ts";
import type { Replica } from "../../../core/store/replica.ts";
import { tempDir } from "./temp-dirs.ts";
import { waitFor } from "../../../scripts/bench/lib/wait.ts";

/** Three replicas in one process over an in-memory router: the driver's logic without sockets. */
interface TestNode {
  id: string;
  dir: string;
  replica: Replica<KvResult>;
  kv: KvStateMachine;
  storage: DurableStorage;
  close(): void;
}

const running: TestNode[] = [];
afterEach(() => {
  for (const node of running.splice(0)) node.close();
});

const ids = ["a", "b", "c"];
const conf = { voters: ids, learners: [], votersOutgoing: [] };
const nodes = new Map<string, TestNode>();

function route(messages: readonly Message[]): void {
  for (const message of messages) {
    const target = nodes.get(message.to);
    if (target) queueMicrotask(() => target.replica.step(message));
  }
}

function startNode(id: string, dir: string, seed: number, raft: Record<string, number> = {}): TestNode {
  const kv = new KvStateMachine(dir);
  const { replica, storage } = openReplica({
    dataDir: dir, raft: { id, tickMs: 10, ...raft }, stateMachine: kv, transport: { send: route }, bootstrap: conf, random: new SeededRandom(seed),
  });
  replica.start();
  const node: TestNode = { id, dir, replica, kv, storage, close: () => { replica.stop(); nodes.delete(id); storage.close(); kv.close(); } };
  nodes.set(id, node);
  running.push(node);
  return node;
}

/** Polls `probe` until it yields a value, and returns that value. */
async function until<T>(probe: () => T | undefined, what: string, timeoutMs = 10_000): Promise<T> {
  let value: T | undefined;
  await waitFor(() => (value = probe()) !== undefined, { timeoutMs, intervalMs: 5, what });
  return value as T;
}

const leaderOf = () => [...nodes.values()].find((node) => node.replica.status().role === "leader");
const put = (key: string, value: string) => encodeKvCommand({ op: "put", key, value: new TextEncoder().encode(value) });

test("elects a leader, applies writes everywhere, serves linearizable reads, and survives a restart", async () => {
  const made = ids.map((id, i) => {
    return startNode(id, tempDir(), i + 1);
  });
  const leader = await until(leaderOf, "a leader");
  for (let i = 0; i < 50; i++) expect(await leader.replica.propose(put(`k${i}`, `v${i}`))).toEqual({ ok: true, existed: false });
  const follower = made.find((node) => node !== leader) as TestNode;
  expect(await follower.replica.propose(put("via-follower", "x"))).toEqual({ ok: true, existed: false });
  await follower.replica.read();
  expect(new TextDecoder().decode(follower.kv.get("k49"))).toBe("v49");
  expect(new TextDecoder().decode(follower.kv.get("via-follower"))).toBe("x");
  const applied = leader.replica.status().applied;
  await until(() => (made.every((node) => node.replica.status().applied >= applied) ? true : undefined), "all applied");

  follower.close();
  const again = startNode(follower.id, follower.dir, 9);
  expect(again.kv.get("k49")).toBeDefined();
  await again.replica.read();
  expect(new TextDecoder().decode(again.kv.get("via-follower"))).toBe("x");
}, 30_000);

test("snapshots at the threshold compact the log, and a follower that missed them catches up through one", async () => {
  const made = ids.map((id, i) => {
    return startNode(id, tempDir(), i + 11, { snapshotThreshold: 20, entriesKeptAfterSnapshot: 5 });
  });
  const leader = await until(leaderOf, "a leader");
  const lagging = made.find((node) => node !== leader) as TestNode;
  const laggingLast = lagging.storage.lastIndex();
  lagging.close();
  for (let i = 0; i < 100; i++) await leader.replica.propose(put(`k${i}`, `v${i}`));
  expect(leader.replica.status().snapshotIndex).toBeGreaterThan(50);
  // The entries the follower is missing are gone from the leader's log: only a snapshot can help.
  expect(leader.storage.firstIndex()).toBeGreaterThan(laggingLast + 1);
  const back = startNode(lagging.id, lagging.dir, 5, { snapshotThreshold: 20, entriesKeptAfterSnapshot: 5 });
  await until(() => (back.kv.get("k99") !== undefined ? true : undefined), "the lagging follower to catch up");
  expect(back.replica.status().snapshotIndex).toBeGreaterThan(50);
  expect(back.kv.size()).toBe(100);
}, 30_000);

test("a state machine that lost its data behind a lazy snapshot is refused with a clear error", () => {
  const dir = tempDir();
  const storage = DurableStorage.open(dir);
  storage.bootstrap(conf);
  const last = storage.lastIndex();
  storage.append([{ index: last + 1, term: 1, type: "normal", data: new Uint8Array([1]) }]);
  storage.createSnapshot(last + 1, conf);
  storage.compact(last + 1);
  storage.close();
  // kv.db is fresh: as if the state machine's file was lost while the log was already compacted.
  const kv = new KvStateMachine(dir);
  try {
    expect(() => openReplica({ dataDir: dir, raft: { id: "a" }, stateMachine: kv, transport: { send: route } })).toThrow("behind the raft snapshot");
  } finally {
    kv.close();
  }
});

/** The KV state machine with its `sync` held until the test releases or fails it. */
class GatedKv extends KvStateMachine {
  syncs = 0;
  private gate = Promise.withResolvers<void>();
  override async sync(): Promise<void> {
    this.syncs++;
    await this.gate.promise;
    return super.sync();
  }
  release(): void {
    this.gate.resolve();
  }
  fail(error: Error): void {
    this.gate.reject(error);
  }
}

/** A one-voter replica over a fresh `GatedKv`, once it leads. */
async function startSolo() {
  const dir = tempDir();
  const kv = new GatedKv(dir);
  const { replica, storage } = openReplica({
    dataDir: dir, raft: { id: "solo", tickMs: 10, snapshotThreshold: 20, entriesKeptAfterSnapshot: 5 }, stateMachine: kv, transport: { send: () => {} },
    bootstrap: { voters: ["solo"], learners: [], votersOutgoing: [] }, random: new SeededRandom(3),
  });
  replica.start();
  running.push({ id: "solo", dir, replica, kv, storage, close: () => { replica.stop(); storage.close(); kv.close(); } });
  await until(() => (replica.status().role === "leader" ? true : undefined), "the single node to lead");
  return { kv, replica, storage };
}

test("a snapshot is recorded once the state machine's sync completes; writes go on meanwhile, and no second one starts", async () => {
  const { kv, replica, storage } = await startSolo();
  for (let i = 0; i < 60; i++) await replica.propose(put(`k${i}`, "v"));
  // Past the threshold three times over, yet one sync is pending and nothing was compacted.
  expect([kv.syncs, replica.status().snapshotIndex, storage.firstIndex()]).toEqual([1, 0, 1]);
  kv.release();
  await until(() => (replica.status().snapshotIndex > 0 ? true : undefined), "the snapshot to be recorded");
  const { snapshotIndex } = replica.status();
  expect(snapshotIndex).toBeGreaterThanOrEqual(20);
  expect(snapshotIndex).toBeLessThan(60);
  expect(storage.firstIndex()).toBe(snapshotIndex - 5 + 1);
  // The next write finds the threshold crossed again since that snapshot and starts another.
  await replica.propose(put("after", "v"));
  await until(() => (kv.syncs === 2 ? true : undefined), "a second snapshot to start");
});

test("a failed state machine sync stops the replica instead of compacting the log", async () => {
  const { kv, replica, storage } = await startSolo();
  for (let i = 0; i < 25; i++) await replica.propose(put(`k${i}`, "v"));
  kv.fail(new Error("EIO: fsync failed"));
  const refused = (error: unknown) => (error as { code?: string }).code === "replica_stopped";
  await waitFor(() => replica.propose(put("late", "v")).then(() => false, refused), { timeoutMs: 10_000, what: "the replica to stop" });
  await expect(replica.read()).rejects.toThrow("the replica stopped");
  expect([replica.status().snapshotIndex, storage.firstIndex()]).toEqual([0, 1]);
});
