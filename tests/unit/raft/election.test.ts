import { describe, expect, test } from "bun:test";
import { ProposalDroppedError } from "../../../core/raft/errors.ts";
import { TestCluster, text } from "./cluster.ts";

describe("raft election", () => {
  test("a three-node cluster elects exactly one leader and everyone follows it", () => {
    const cluster = new TestCluster(["a", "b", "c"]);
    cluster.elect("a");
    expect(cluster.leaders().map((n) => n.id)).toEqual(["a"]);
    for (const id of ["b", "c"]) {
      expect(cluster.get(id).node.raft.lead).toBe("a");
      expect(cluster.get(id).node.raft.term).toBe(2); // bootstrap is term 1
    }
  });

  test("pre-vote: a node cut off from the cluster does not raise its term", () => {
    const cluster = new TestCluster(["a", "b", "c"]);
    cluster.elect("a");
    cluster.drop = (m) => m.from === "c" || m.to === "c";
    cluster.tick(50, ["c"]);
    expect(cluster.get("c").node.raft.term).toBe(2);
    expect(cluster.get("c").node.raft.role).toBe("preCandidate");
  });

  test("a node rejoining from a partition does not disrupt a healthy leader", () => {
    const cluster = new TestCluster(["a", "b", "c"]);
    cluster.elect("a");
    cluster.drop = (m) => m.from === "c" || m.to === "c";
    cluster.tick(50, ["c"]);
    cluster.drop = () => false;
    cluster.tick(20);
    expect(cluster.leaders().map((n) => n.id)).toEqual(["a"]);
    expect(cluster.get("a").node.raft.term).toBe(2);
  });

  test("check-quorum lease: followers hearing from a leader ignore higher-term vote requests", () => {
    const cluster = new TestCluster(["a", "b", "c"], { preVote: false });
    cluster.elect("a");
    cluster.drop = (m) => m.from === "c" || m.to === "c";
    cluster.tick(30, ["c"]);
    const cTerm = cluster.get("c").node.raft.term;
    expect(cTerm).toBeGreaterThan(2);
    // Only c's vote requests get through: b, in its lease, neither votes nor moves its term.
    cluster.drop = (m) => (m.from === "c" && m.type !== "vote") || m.to === "c";
    cluster.tick(1, ["a", "b"]);
    cluster.tick(40, ["c"]);
    expect(cluster.get("b").node.raft.term).toBe(2);
    expect(cluster.get("b").node.raft.vote).not.toBe("c");
    expect(cluster.get("a").node.raft.role).toBe("leader");
  });

  test("check-quorum: a leader cut off from a majority steps down within an election timeout", () => {
    const cluster = new TestCluster(["a", "b", "c"], { electionTicks: 5 });
    cluster.elect("a");
    cluster.drop = (m) => m.from === "a" || m.to === "a";
    cluster.tick(11, ["a"]);
    expect(cluster.get("a").node.raft.role).toBe("follower");
  });

  test("a follower with a stale log cannot win (voting rule)", () => {
    const cluster = new TestCluster(["a", "b", "c"]);
    cluster.elect("a");
    cluster.drop = (m) => m.to === "c";
    cluster.get("a").node.propose(text("x"));
    cluster.settle();
    cluster.drop = (m) => m.from === "a" || m.to === "a";
    cluster.tick(40, ["c"]);
    cluster.tick(40, ["b", "c"]);
    expect(cluster.get("b").node.raft.role).toBe("leader");
  });

  test("leadership transfer hands over to an up-to-date voter at once", () => {
    const cluster = new TestCluster(["a", "b", "c"]);
    cluster.elect("a");
    cluster.get("a").node.propose(text("x"));
    cluster.settle();
    cluster.get("a").node.transferLeadership("b");
    cluster.settle();
    expect(cluster.leaders().map((n) => n.id)).toEqual(["b"]);
    expect(cluster.get("a").node.raft.lead).toBe("b");
  });

  test("a transfer to a lagging voter holds proposals, and is abandoned after an election timeout", () => {
    const cluster = new TestCluster(["a", "b", "c"], { electionTicks: 5 });
    cluster.elect("a");
    cluster.drop = (m) => m.to === "c" || m.from === "c";
    cluster.get("a").node.propose(text("x"));
    cluster.settle();
    const a = cluster.get("a").node;
    a.transferLeadership("c");
    expect(() => a.propose(text("y"))).toThrow(ProposalDroppedError);
    cluster.tick(5, ["a", "b"]);
    expect(a.raft.role).toBe("leader");
    expect(() => a.propose(text("y"))).not.toThrow();
  });

  test("proposals are dropped with a typed error while no leader is known", () => {
    const cluster = new TestCluster(["a", "b", "c"]);
    expect(() => cluster.get("b").node.propose(text("x"))).toThrow(ProposalDroppedError);
    try {
      cluster.get("b").node.propose(text("x"));
    } catch (error) {
      expect((error as ProposalDroppedError).reason).toBe("no_leader");
    }
  });
});
