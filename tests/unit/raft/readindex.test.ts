import { describe, expect, test } from "bun:test";
import { ProposalDroppedError } from "../../../core/raft/errors.ts";
import { TestCluster, text } from "./cluster.ts";

describe("raft ReadIndex", () => {
  test("the leader answers a read only after a quorum acknowledges a heartbeat carrying its context", () => {
    const cluster = new TestCluster(["a", "b", "c"]);
    cluster.elect("a");
    cluster.get("a").node.propose(text("x"));
    cluster.settle();
    const a = cluster.get("a");
    cluster.drop = (m) => m.type === "heartbeatResp";
    a.node.readIndex(text("r1"));
    cluster.settle();
    expect(a.readStates).toHaveLength(0);
    cluster.drop = () => false;
    a.node.readIndex(text("r2"));
    cluster.settle();
    // Confirming the later read also confirms the earlier one.
    expect(a.readStates.map((r) => new TextDecoder().decode(r.context))).toEqual(["r1", "r2"]);
    expect(a.readStates.every((r) => r.index === a.node.status().commit)).toBe(true);
  });

  test("a leader cut off from the majority never answers a read", () => {
    const cluster = new TestCluster(["a", "b", "c"]);
    cluster.elect("a");
    cluster.drop = (m) => m.from === "a" || m.to === "a";
    cluster.get("a").node.readIndex(text("r"));
    cluster.tick(3, ["a"]);
    expect(cluster.get("a").readStates).toHaveLength(0);
  });

  test("followers forward reads to the leader and get the leader's commit index", () => {
    const cluster = new TestCluster(["a", "b", "c"]);
    cluster.elect("a");
    cluster.get("a").node.propose(text("x"));
    cluster.settle();
    const c = cluster.get("c");
    c.node.readIndex(text("from-c"));
    cluster.settle();
    expect(c.readStates).toHaveLength(1);
    expect(c.readStates[0]?.index).toBe(cluster.get("a").node.status().commit);
  });

  test("a read arriving before the new leader commits an entry of its term waits for it", () => {
    const cluster = new TestCluster(["a", "b", "c"]);
    cluster.drop = (m) => m.type === "appendResp";
    cluster.elect("a");
    const a = cluster.get("a");
    a.node.readIndex(text("early"));
    cluster.settle();
    expect(a.readStates).toHaveLength(0);
    cluster.drop = () => false;
    cluster.tick(2);
    expect(a.readStates).toHaveLength(1);
    expect(a.readStates[0]?.index).toBeGreaterThanOrEqual(1);
  });

  test("lease reads answer at once from the commit index", () => {
    const cluster = new TestCluster(["a", "b", "c"], { readOnlyOption: "lease" });
    cluster.elect("a");
    const a = cluster.get("a");
    cluster.drop = () => true;
    a.node.readIndex(text("lease"));
    cluster.flush();
    expect(a.readStates).toHaveLength(1);
  });

  test("a read with no known leader is dropped with a typed error", () => {
    const cluster = new TestCluster(["a", "b", "c"]);
    expect(() => cluster.get("a").node.readIndex(text("r"))).toThrow(ProposalDroppedError);
  });
});
