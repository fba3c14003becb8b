import { describe, expect, test } from "bun:test";
import { ProposalDroppedError } from "../../../core/raft/errors.ts";
import { MemoryStorage } from "../../../core/raft/storage.ts";
import { TestCluster, text } from "./cluster.ts";

describe("raft replication", () => {
  test("a committed proposal is applied on every node in the same order", () => {
    const cluster = new TestCluster(["a", "b", "c"]);
    cluster.elect("a");
    for (const value of ["x", "y", "z"]) cluster.get("a").node.propose(text(value));
    cluster.settle();
    cluster.tick(2);
    for (const id of ["a", "b", "c"]) expect(cluster.appliedText(id)).toEqual(["x", "y", "z"]);
  });

  test("followers forward proposals to the leader", () => {
    const cluster = new TestCluster(["a", "b", "c"]);
    cluster.elect("a");
    cluster.get("c").node.propose(text("from-c"));
    cluster.settle();
    cluster.tick(1);
    expect(cluster.delivered.some((m) => m.type === "propose" && m.from === "c" && m.to === "a")).toBe(true);
    for (const id of ["a", "b", "c"]) expect(cluster.appliedText(id)).toEqual(["from-c"]);
  });

  test("nothing commits without a majority, and commits once it is back", () => {
    const cluster = new TestCluster(["a", "b", "c"], { checkQuorum: false });
    cluster.elect("a");
    cluster.drop = (m) => m.from !== "a" && m.to === "a";
    cluster.get("a").node.propose(text("x"));
    cluster.settle();
    expect(cluster.appliedText("a")).toEqual([]);
    cluster.drop = () => false;
    cluster.tick(2);
    expect(cluster.appliedText("a")).toEqual(["x"]);
  });

  test("a leader never commits an entry of an older term by counting replicas (Raft §5.4.2)", () => {
    const cluster = new TestCluster(["a", "b", "c", "d", "e"], { checkQuorum: false, preVote: false, maxSizePerMsg: 1 });
    cluster.elect("a");
    const a = cluster.get("a").node.raft;
    const firstTerm = a.term;
    // First term: a appends "old", which reaches only b.
    cluster.drop = (m) => m.from === "a" && m.to !== "b";
    cluster.get("a").node.propose(text("old"));
    cluster.settle();
    const oldIndex = a.log.lastIndex();
    // Next term: e wins with c and d; its own entry never leaves it. a learns the term and rejects e.
    cluster.drop = (m) => m.from === "b" || m.to === "b" || m.from === "a" || (m.from === "e" && m.type === "append");
    cluster.elect("e");
    // Third term: a wins again; its new entry is held back while "old" reaches c.
    // (c may see one new-term append while it lacks "old": it rejects it, so the leader backs up.)
    const cLacksOld = () => cluster.get("c").node.raft.log.lastIndex() < oldIndex;
    cluster.drop = (m) =>
      m.from === "e" || m.to === "e" || (m.type === "append" && m.entries.some((entry) => entry.term > firstTerm + 1) && !(m.to === "c" && cLacksOld()));
    cluster.elect("a");
    expect(a.term).toBe(firstTerm + 2);
    cluster.tick(3, ["a"]);
    expect(cluster.get("c").node.raft.log.term(oldIndex)).toBe(firstTerm);
    // "old" is on a, b and c, a majority of five, yet it is not committed: it is not of a's term.
    expect(a.log.committed).toBeLessThan(oldIndex);
    // Once the new term's entry replicates, both commit.
    cluster.drop = (m) => m.from === "e" || m.to === "e";
    cluster.tick(3, ["a"]);
    expect(a.log.committed).toBe(oldIndex + 1);
  });

  test("fast backtracking repairs a long divergent follower log in few round trips", () => {
    const cluster = new TestCluster(["a", "b", "c"], { checkQuorum: false, preVote: false, maxSizePerMsg: 64 * 1024 });
    cluster.elect("a");
    // a writes 100 entries nobody else sees, then loses leadership.
    cluster.drop = (m) => m.from === "a" || m.to === "a";
    for (let i = 0; i < 100; i++) cluster.get("a").node.propose(text(`lost-${i}`));
    cluster.settle();
    cluster.elect("b");
    for (let i = 0; i < 50; i++) cluster.get("b").node.propose(text(`kept-${i}`));
    cluster.settle();
    const before = cluster.delivered.length;
    cluster.drop = () => false;
    cluster.tick(3);
    const rejections = cluster.delivered.slice(before).filter((m) => m.type === "appendResp" && m.reject && m.from === "a");
    expect(rejections.length).toBeLessThanOrEqual(3);
    expect(cluster.appliedText("a").filter((v) => v.startsWith("kept-"))).toHaveLength(50);
    expect(cluster.appliedText("a").some((v) => v.startsWith("lost-"))).toBe(false);
  });

  test("flow control: at most maxInflightMsgs appends are outstanding to a silent follower", () => {
    const cluster = new TestCluster(["a", "b", "c"], { maxInflightMsgs: 4, maxSizePerMsg: 1, checkQuorum: false });
    cluster.elect("a");
    const sent: number[] = [];
    cluster.drop = (m) => {
      if (m.from === "a" && m.to === "c" && m.type === "append" && m.entries.length > 0) sent.push(m.entries.length);
      return m.to === "c" || m.from === "c";
    };
    for (let i = 0; i < 20; i++) cluster.get("a").node.propose(text(`v${i}`));
    cluster.settle();
    expect(sent.length).toBe(4);
    expect(cluster.get("a").node.status().peers.get("c")?.state).toBe("replicate");
  });

  test("flow control: maxInflightBytes bounds the bytes in flight", () => {
    const cluster = new TestCluster(["a", "b", "c"], { maxInflightBytes: 1000, maxSizePerMsg: 1, checkQuorum: false });
    cluster.elect("a");
    let bytes = 0;
    cluster.drop = (m) => {
      if (m.from === "a" && m.to === "c" && m.type === "append") bytes += m.entries.reduce((sum, e) => sum + 24 + e.data.length, 0);
      return m.to === "c" || m.from === "c";
    };
    for (let i = 0; i < 20; i++) cluster.get("a").node.propose(new Uint8Array(300));
    cluster.settle();
    expect(bytes).toBeGreaterThan(0);
    expect(bytes).toBeLessThan(1000 + 324);
  });

  test("appends are batched up to maxSizePerMsg", () => {
    const cluster = new TestCluster(["a", "b", "c"], { maxSizePerMsg: 1000, checkQuorum: false });
    cluster.elect("a");
    cluster.drop = (m) => m.to === "c" || m.from === "c";
    for (let i = 0; i < 20; i++) cluster.get("a").node.propose(new Uint8Array(100));
    cluster.settle();
    const before = cluster.delivered.length;
    cluster.drop = () => false;
    cluster.tick(2);
    const appends = cluster.delivered.slice(before).filter((m) => m.type === "append" && m.to === "c" && m.entries.length > 1);
    expect(appends.length).toBeGreaterThan(0);
    for (const m of appends) expect(m.entries.reduce((sum, e) => sum + 24 + e.data.length, 0)).toBeLessThanOrEqual(1000);
  });

  test("a crash before persisting loses exactly the unacknowledged entries, which the leader resends", () => {
    const cluster = new TestCluster(["a", "b", "c"]);
    cluster.elect("a");
    cluster.get("a").node.propose(text("x"));
    cluster.flush();
    const b = cluster.get("b");
    const lastBefore = b.storage.lastIndex();
    // b takes the append in but crashes before its Ready is persisted: no ack ever left it.
    for (const m of cluster.inbox.filter((m) => m.to === "b")) b.node.step(m);
    expect(b.node.status().lastIndex).toBe(lastBefore + 1);
    cluster.inbox = cluster.inbox.filter((m) => m.to !== "b");
    const restarted = cluster.add("b", b.storage);
    expect(restarted.node.status().lastIndex).toBe(lastBefore);
    cluster.tick(3);
    expect(cluster.appliedText("b")).toEqual(["x"]);
  });

  test("a restarted node recovers its log, term and vote from storage", () => {
    const cluster = new TestCluster(["a", "b", "c"]);
    cluster.elect("a");
    for (const value of ["x", "y"]) cluster.get("a").node.propose(text(value));
    cluster.settle();
    cluster.tick(2);
    const b = cluster.get("b");
    const status = b.node.status();
    const restarted = cluster.add("b", b.storage as MemoryStorage);
    expect(restarted.node.status().term).toBe(status.term);
    expect(restarted.node.status().commit).toBe(status.commit);
    expect(restarted.node.status().lastIndex).toBe(status.lastIndex);
    cluster.get("a").node.propose(text("z"));
    cluster.settle();
    cluster.tick(2);
    // The restarted node re-applies from its (in-memory) state machine's start.
    expect(cluster.appliedText("b")).toEqual(["x", "y", "z"]);
  });
});

describe("raft proposal limits", () => {
  test("the leader drops proposals once maxUncommittedEntriesBytes are waiting for a quorum", () => {
    const cluster = new TestCluster(["a", "b", "c"], { maxUncommittedEntriesBytes: 1000, checkQuorum: false });
    cluster.elect("a");
    cluster.drop = (m) => m.from === "a" && m.type === "append";
    const a = cluster.get("a").node;
    let reason: string | undefined;
    for (let i = 0; i < 20 && reason === undefined; i++) {
      try {
        a.propose(new Uint8Array(300));
      } catch (error) {
        reason = (error as ProposalDroppedError).reason;
      }
    }
    expect(reason).toBe("uncommitted_limit");
    cluster.drop = () => false;
    cluster.tick(2);
    expect(() => a.propose(new Uint8Array(300))).not.toThrow();
  });
});
