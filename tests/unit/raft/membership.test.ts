import { describe, expect, test } from "bun:test";
import { decodeConfChange, encodeConfChange } from "../../../core/raft/confchange.ts";
import { DecodeError } from "../../../core/common/errors.ts";
import { encodeEnvelope } from "../../../core/common/envelope.ts";
import { ProposalDroppedError } from "../../../core/raft/errors.ts";
import { MemoryStorage } from "../../../core/raft/storage.ts";
import { TestCluster, text } from "./cluster.ts";

function dropReason(fn: () => void): string | undefined {
  try {
    fn();
  } catch (error) {
    if (error instanceof ProposalDroppedError) return error.reason;
    throw error;
  }
  return undefined;
}

describe("raft membership", () => {
  test("a learner catches up without voting, then is promoted once caught up", () => {
    const cluster = new TestCluster(["a", "b", "c"]);
    cluster.elect("a");
    for (let i = 0; i < 5; i++) cluster.get("a").node.propose(text(`v${i}`));
    cluster.settle();
    cluster.add("d", new MemoryStorage());
    cluster.get("a").node.addLearner("d");
    cluster.settle();
    cluster.tick(2);
    expect(cluster.get("a").node.confState()).toEqual({ voters: ["a", "b", "c"], learners: ["d"], votersOutgoing: [] });
    expect(cluster.appliedText("d")).toEqual(["v0", "v1", "v2", "v3", "v4"]);
    // A learner never campaigns.
    cluster.tick(30, ["d"]);
    expect(cluster.get("d").node.raft.role).toBe("follower");
    cluster.get("a").node.promoteLearner("d");
    cluster.settle();
    cluster.tick(2);
    for (const id of ["a", "b", "c", "d"]) expect(cluster.get(id).node.confState().voters.sort()).toEqual(["a", "b", "c", "d"]);
  });

  test("promoting a lagging learner is refused", () => {
    const cluster = new TestCluster(["a", "b", "c"]);
    cluster.elect("a");
    cluster.get("a").node.addLearner("d");
    cluster.settle();
    cluster.tick(1);
    expect(dropReason(() => cluster.get("a").node.promoteLearner("d"))).toBe("learner_lagging");
  });

  test("only one membership change is pending at a time", () => {
    const cluster = new TestCluster(["a", "b", "c"]);
    cluster.elect("a");
    cluster.drop = (m) => m.type === "appendResp";
    const a = cluster.get("a").node;
    a.addLearner("d");
    expect(dropReason(() => a.addLearner("e"))).toBe("conf_change_pending");
  });

  test("a new leader accepts no change before its own first entry is applied", () => {
    const cluster = new TestCluster(["a", "b", "c"]);
    cluster.drop = (m) => m.type === "appendResp";
    cluster.elect("a");
    expect(dropReason(() => cluster.get("a").node.addLearner("d"))).toBe("conf_change_pending");
    cluster.drop = () => false;
    cluster.tick(2);
    expect(dropReason(() => cluster.get("a").node.addLearner("d"))).toBeUndefined();
  });

  test("invalid changes are refused: removing a non-member, removing the last voter", () => {
    const cluster = new TestCluster(["a"]);
    cluster.elect("a");
    expect(dropReason(() => cluster.get("a").node.removeNode("zz"))).toBe("invalid_conf_change");
    expect(dropReason(() => cluster.get("a").node.removeNode("a"))).toBe("invalid_conf_change");
  });

  test("a removed leader steps down and the rest elect a new one", () => {
    const cluster = new TestCluster(["a", "b", "c"]);
    cluster.elect("a");
    cluster.get("a").node.removeNode("a");
    cluster.settle();
    cluster.tick(1);
    expect(cluster.get("a").node.raft.role).toBe("follower");
    cluster.tick(40, ["b", "c"]);
    const leaders = cluster.leaders().map((n) => n.id);
    expect(leaders).toHaveLength(1);
    expect(["b", "c"]).toContain(leaders[0] as string);
    expect(cluster.get(leaders[0] as string).node.confState().voters.sort()).toEqual(["b", "c"]);
  });

  test("conf changes decode strictly", () => {
    expect(decodeConfChange(encodeConfChange({ type: "addVoter", node: "n1" }))).toEqual({ type: "addVoter", node: "n1" });
    expect(() => decodeConfChange(encodeEnvelope("raft.confchange", 1, { type: "explode", node: "x" }))).toThrow(DecodeError);
    expect(() => decodeConfChange(encodeEnvelope("raft.confchange", 1, { type: "addVoter", node: "" }))).toThrow(DecodeError);
    expect(() => decodeConfChange(new Uint8Array([0xff, 0x00]))).toThrow(DecodeError);
  });

  test("a restart replays membership changes applied after the last snapshot", () => {
    const cluster = new TestCluster(["a", "b", "c"]);
    cluster.elect("a");
    cluster.get("a").node.addLearner("d");
    cluster.settle();
    cluster.tick(1);
    const b = cluster.get("b");
    const applied = b.node.status().applied;
    const restarted = cluster.add("b", b.storage, applied);
    expect(restarted.node.confState().learners).toEqual(["d"]);
  });
});
