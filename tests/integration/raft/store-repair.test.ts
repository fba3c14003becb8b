/**
 * A real node whose raft log was damaged on disk: it refuses to start with a message naming
 * the file and the index, `shoal store repair` truncates the damaged tail, and the repaired
 * node rejoins and catches up from the leader.
 */
import { Database } from "bun:sqlite";
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { nodeStatus, RaftCluster } from "../../../scripts/bench/raft/cluster.ts";
import { waitFor, waitForHttp } from "../../../scripts/bench/lib/wait.ts";

const root = join(import.meta.dir, "..", "..", "..");
const cluster = new RaftCluster({ size: 3, firstHost: 41 });
beforeAll(() => cluster.start(), 30_000);
afterAll(() => cluster.stop());

test("a damaged log tail stops the node with a clear error; store repair lets it rejoin", async () => {
  const leaderId = await cluster.leader();
  const leader = cluster.get(leaderId);
  for (let i = 0; i < 30; i++) expect((await fetch(`${leader.url}/kv/k${i}`, { method: "PUT", body: `v${i}` })).status).toBe(204);
  const victim = [...cluster.nodes.values()].find((node) => node.id !== leaderId);
  if (!victim) throw new Error("no follower");
  await waitFor(async () => (await nodeStatus(victim.url)).applied >= 30, { what: "the follower to apply the writes" });
  await cluster.kill(victim.id);

  // A torn tail: an entry whose write never completed (so was never acknowledged) and whose
  // bytes do not match its checksum.
  const dbPath = join(victim.dataDir, "raft.db");
  const db = new Database(dbPath);
  const { maxIndex, term } = db.query("SELECT idx AS maxIndex, term FROM entries ORDER BY idx DESC LIMIT 1").get() as { maxIndex: number; term: number };
  const last = maxIndex + 1;
  db.query("INSERT INTO entries (idx, term, type, data, crc) VALUES (?, ?, 0, ?, 12345)").run(last, term, new TextEncoder().encode("half-written"));
  db.close();

  cluster.restart(victim.id);
  const refused = victim.process;
  if (!refused) throw new Error("the victim did not start");
  expect(await refused.process.exited).toBe(1);
  expect(refused.stderrTail()).toContain(`raft store ${dbPath} is corrupt at log index ${last}`);

  const repair = Bun.spawnSync([join(root, "node_modules", ".bin", "bun"), join(root, "main.ts"), "store", "repair", "--data-dir", victim.dataDir, "--yes"], { cwd: root });
  expect(repair.stdout.toString()).toContain(`removed 1 entries from index ${last}`);
  expect(repair.exitCode).toBe(0);

  cluster.restart(victim.id);
  for (let i = 30; i < 40; i++) expect((await fetch(`${leader.url}/kv/k${i}`, { method: "PUT", body: `v${i}` })).status).toBe(204);
  await waitForHttp(`${victim.url}/kv/k39`, { timeoutMs: 15_000, what: "the repaired node to catch up" });
  expect(await (await fetch(`${victim.url}/kv/k29`)).text()).toBe("v29");
}, 60_000);
