import { describe, expect, test } from "bun:test";
import { SnapshotAssembler, SnapshotTransfer } from "../../../core/raft/snapshot-transfer.ts";
import type { Snapshot, SnapshotChunk } from "../../../core/raft/types.ts";
import { TestCluster, text } from "./cluster.ts";

function snapshotOf(bytes: number): Snapshot {
  const data = new Uint8Array(bytes).map((_, i) => i % 251);
  return { meta: { index: 10, term: 2, conf: { voters: ["a"], learners: [], votersOutgoing: [] } }, data };
}

describe("snapshot chunks", () => {
  test("a snapshot is cut into bounded chunks within the window and reassembled exactly", () => {
    const snapshot = snapshotOf(10_000);
    const transfer = new SnapshotTransfer(snapshot, 1024, 3);
    const assembler = new SnapshotAssembler();
    let result: Snapshot | undefined;
    for (let round = 0; round < 20 && result === undefined; round++) {
      const chunks = transfer.nextChunks();
      expect(chunks.length).toBeLessThanOrEqual(3);
      for (const chunk of chunks) {
        expect(chunk.data.length).toBeLessThanOrEqual(1024);
        const outcome = assembler.accept(chunk);
        transfer.onResponse(outcome.received, outcome.reject);
        result ??= outcome.snapshot;
      }
    }
    expect(result?.data).toEqual(snapshot.data);
    expect(result?.meta).toEqual(snapshot.meta);
  });

  test("a lost chunk is detected by the receiver and resent from the expected offset", () => {
    const snapshot = snapshotOf(5000);
    const transfer = new SnapshotTransfer(snapshot, 1000, 5);
    const assembler = new SnapshotAssembler();
    const first = transfer.nextChunks();
    expect(first).toHaveLength(5);
    let outcome = assembler.accept(first[0] as SnapshotChunk);
    transfer.onResponse(outcome.received, outcome.reject);
    // chunk 1 is lost; chunk 2 arrives out of order and is refused with the expected offset
    outcome = assembler.accept(first[2] as SnapshotChunk);
    expect(outcome).toEqual({ received: 1000, reject: true });
    transfer.onResponse(outcome.received, outcome.reject);
    let result: Snapshot | undefined;
    for (const chunk of transfer.nextChunks()) {
      const next = assembler.accept(chunk);
      result ??= next.snapshot;
    }
    expect(result?.data).toEqual(snapshot.data);
  });

  test("an empty snapshot still ships as one final chunk", () => {
    const snapshot = snapshotOf(0);
    const transfer = new SnapshotTransfer(snapshot, 1000, 2);
    const chunks = transfer.nextChunks();
    expect(chunks).toHaveLength(1);
    expect(new SnapshotAssembler().accept(chunks[0] as SnapshotChunk).snapshot?.meta.index).toBe(10);
  });

  test("a chunk claiming more bytes than the total is refused", () => {
    const assembler = new SnapshotAssembler();
    const meta = snapshotOf(0).meta;
    expect(assembler.accept({ meta, offset: 0, total: 4, data: new Uint8Array(8), done: true }).reject).toBe(true);
    expect(assembler.accept({ meta, offset: 0, total: 8, data: new Uint8Array(4), done: true }).snapshot).toBeUndefined();
  });

  test("a stalled transfer rewinds to the last acknowledged byte", () => {
    const transfer = new SnapshotTransfer(snapshotOf(3000), 1000, 1);
    expect(transfer.nextChunks().map((c) => c.offset)).toEqual([0]);
    transfer.checkStalled();
    expect(transfer.nextChunks()).toEqual([]);
    transfer.checkStalled();
    expect(transfer.nextChunks().map((c) => c.offset)).toEqual([0]);
  });
});

describe("raft snapshots and compaction", () => {
  test("a follower behind the compacted log catches up through a chunked snapshot", () => {
    const cluster = new TestCluster(["a", "b", "c"], { maxSnapshotChunkBytes: 100 });
    cluster.elect("a");
    cluster.drop = (m) => m.to === "c" || m.from === "c";
    for (let i = 0; i < 30; i++) cluster.get("a").node.propose(text(`v${i}`));
    cluster.settle();
    cluster.tick(1, ["a", "b"]);
    const a = cluster.get("a");
    const applied = a.node.status().applied;
    // The state machine "snapshot" here is the applied values joined; 30 values > 100 bytes, so several chunks.
    const state = text(cluster.appliedText("a").join(","));
    a.storage.createSnapshot(applied, a.node.confState(), state);
    a.storage.compact(applied);
    cluster.drop = () => false;
    cluster.tick(15);
    const c = cluster.get("c");
    expect(c.installed).toHaveLength(1);
    expect(c.installed[0]?.data).toEqual(state);
    const chunks = cluster.delivered.filter((m) => m.type === "snapshot" && m.to === "c");
    expect(chunks.length).toBeGreaterThan(1);
    for (const m of chunks) expect(m.snapshotChunk?.data.length ?? 0).toBeLessThanOrEqual(100);
    // c then follows normally.
    a.node.propose(text("after"));
    cluster.settle();
    cluster.tick(1);
    expect(cluster.appliedText("c")).toEqual(["after"]);
    expect(c.node.status().applied).toBe(a.node.status().applied);
  });

  test("snapshotDue and compactionIndex follow the configured threshold and tail", () => {
    const cluster = new TestCluster(["a"], { snapshotThreshold: 5, entriesKeptAfterSnapshot: 2 });
    cluster.elect("a");
    const node = cluster.get("a").node;
    expect(node.snapshotDue(0)).toBe(false);
    for (let i = 0; i < 5; i++) node.propose(text(`v${i}`));
    cluster.settle();
    expect(node.snapshotDue(0)).toBe(true);
    expect(node.compactionIndex(6)).toBe(4);
  });
});

describe("raft robustness", () => {
  test("odd messages from a confused peer are ignored, not fatal", () => {
    const cluster = new TestCluster(["a", "b", "c"]);
    cluster.elect("a");
    const b = cluster.get("b").node;
    const base = { from: "a", to: "b", term: b.raft.term, index: 0, logTerm: 0, entries: [], commit: 0, reject: false, rejectHint: 0 };
    // A heartbeat vouching for a commit past b's log, a snapshot message without a chunk, a
    // chunk that does not start a snapshot, a response from a stranger.
    b.step({ ...base, type: "heartbeat", commit: 10_000 });
    b.step({ ...base, type: "snapshot" });
    const meta = { index: 50, term: 1, conf: { voters: ["a"], learners: [], votersOutgoing: [] } };
    b.step({ ...base, type: "snapshot", snapshotChunk: { meta, offset: 10, total: 20, data: new Uint8Array(10), done: true } });
    cluster.get("a").node.step({ ...base, from: "zz", to: "a", type: "appendResp", index: 99 });
    // An append without a term is not from a Raft peer: it must not touch the log.
    b.step({ ...base, from: "zz", term: 0, type: "append", index: b.status().lastIndex, logTerm: b.raft.log.lastTerm(), entries: [{ term: 0, index: b.status().lastIndex + 1, type: "normal", data: text("forged") }] });
    cluster.settle();
    expect(b.status().commit).toBeLessThan(10_000);
    cluster.get("a").node.propose(text("still works"));
    cluster.settle();
    cluster.tick(1);
    expect(cluster.appliedText("b")).toEqual(["still works"]);
  });
});
