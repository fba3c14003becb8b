/** The leader's membership decisions: one single-server step at a time towards the state's managers. */
import { describe, expect, test } from "bun:test";
import { nextMembershipStep, type MembershipView } from "../../../core/cluster/membership.ts";

function view(overrides: Partial<MembershipView>): MembershipView {
  return { self: "a", managers: new Set(["a", "b", "c"]), voters: ["a", "b", "c"], learners: [], reachable: () => true, ...overrides };
}

describe("membership reconciliation", () => {
  test("nothing to do when Raft matches the state", () => {
    expect(nextMembershipStep(view({}))).toBeUndefined();
  });

  test("a new manager joins as a learner, then learners are offered for promotion", () => {
    expect(nextMembershipStep(view({ managers: new Set(["a", "b", "c", "d"]) }))).toEqual({ kind: "addLearner", node: "d" });
    expect(nextMembershipStep(view({ managers: new Set(["a", "b", "c", "d", "e"]), learners: ["d", "e"] }))).toEqual({ kind: "promote", candidates: ["d", "e"] });
  });

  test("members the state no longer lists as managers are removed before anyone is added", () => {
    const step = nextMembershipStep(view({ managers: new Set(["a", "b", "d"]) }));
    expect(step).toEqual({ kind: "remove", node: "c" });
    expect(nextMembershipStep(view({ managers: new Set(["a", "b"]), voters: ["a", "b"], learners: ["x"] }))).toEqual({ kind: "remove", node: "x" });
  });

  test("a demoted leader hands over to a reachable voter first, and waits when none is reachable", () => {
    const demoted = { managers: new Set(["b", "c"]) };
    expect(nextMembershipStep(view({ ...demoted, reachable: (node) => node === "c" }))).toEqual({ kind: "transferLeadership", to: "c" });
    expect(nextMembershipStep(view({ ...demoted, reachable: () => false }))).toBeUndefined();
    // Other stale members go first, the hand-over after.
    expect(nextMembershipStep(view({ managers: new Set(["b"]) }))).toEqual({ kind: "remove", node: "c" });
  });
});
