import { describe, expect, test } from "bun:test";
import {
  type ClusterView, dispatcherConfig, type ManagerSessionAction, ManagerSessions, type SessionRecord, sessionRecordOf, statusCommand,
} from "../../../core/cluster/dispatcher/index.ts";
import { KeyDistributor } from "../../../core/cluster/keyrotation/index.ts";
import { SeededRandom } from "../../../core/common/random.ts";
import { boxKeysFor, commit, makeManager } from "./keyrotation-fixture.ts";

const config = dispatcherConfig({ heartbeatPeriod: 1_000, missedHeartbeats: 3, orphanGrace: 5_000 });
const node = (nodeId: string, seed: number) => ({ nodeId, boxPublicKey: boxKeysFor(seed).publicKey });
const W1 = node("w1", 11);

function makeSessions(managerId = "m1", withKey = false) {
  const keys = makeManager(1);
  if (withKey) {
    keys.setLeader(true);
    commit([keys], keys.tick(0));
  }
  const distributor = new KeyDistributor(keys, 2_000);
  return { sessions: new ManagerSessions({ managerId, config, random: new SeededRandom(5), keys: distributor, gossipAddress: "127.0.0.1:7371" }), keys };
}

const kinds = (actions: ManagerSessionAction[]) => actions.map((action) => (action.kind === "send" ? action.message.type : action.kind));
const reports = (actions: ManagerSessionAction[]) => actions.flatMap((action) => (action.kind === "report" ? [action.report] : []));
const sessionIdOf = (actions: ManagerSessionAction[]) => {
  const accepted = actions.find((action) => action.kind === "send" && action.message.type === "accepted");
  if (accepted?.kind !== "send" || accepted.message.type !== "accepted") throw new Error("no accepted message");
  return accepted.message.sessionId;
};
const view = (records: Map<string, SessionRecord>, options: Partial<ClusterView> = {}): ClusterView => ({
  records, managers: [{ nodeId: "m1", address: "127.0.0.1:7370" }], leader: false, reachableManagers: new Set(["m1"]), ...options,
});

describe("ManagerSessions", () => {
  test("an open is accepted with the heartbeat period and the managers, sends the keyring, and reports ready", () => {
    const { sessions } = makeSessions("m1", true);
    sessions.reconcile(view(new Map()), 0);
    const actions = sessions.receive("c1", W1, { type: "open", nodeId: "w1", keyringVersion: 0 }, 0);
    expect(kinds(actions)).toEqual(["accepted", "keyring", "report"]);
    const accepted = actions[0];
    expect(accepted).toMatchObject({ kind: "send", connectionId: "c1", message: { heartbeatPeriod: 1_000, managers: [{ nodeId: "m1", address: "127.0.0.1:7370" }], gossipAddress: "127.0.0.1:7371" } });
    expect(reports(actions)).toEqual([{ nodeId: "w1", status: "ready", sessionId: sessionIdOf(actions), manager: "m1" }]);
  });

  test("an open naming another node than the channel proved is refused", () => {
    const { sessions } = makeSessions();
    expect(kinds(sessions.receive("c1", W1, { type: "open", nodeId: "w2", keyringVersion: 0 }, 0))).toEqual(["closed", "close"]);
    expect(sessions.served()).toEqual([]);
  });

  test("heartbeats are acknowledged; silence for missedHeartbeats periods reports down even with the connection open", () => {
    const { sessions } = makeSessions();
    const sessionId = sessionIdOf(sessions.receive("c1", W1, { type: "open", nodeId: "w1", keyringVersion: 0 }, 0));
    expect(sessions.receive("c1", W1, { type: "heartbeat", sessionId, seq: 1 }, 1_000)).toEqual([
      { kind: "send", connectionId: "c1", message: { type: "heartbeatAck", sessionId, seq: 1, heartbeatPeriod: 1_000 } },
    ]);
    expect(sessions.tick(3_999)).toEqual([]);
    const actions = sessions.tick(4_000);
    expect(kinds(actions)).toEqual(["close", "report"]);
    expect(reports(actions)).toEqual([{ nodeId: "w1", status: "down", sessionId, manager: "m1", reason: "no heartbeat for 3 s" }]);
    expect(sessions.served()).toEqual([]);
  });

  test("a closed connection is not yet down: the node has until its heartbeats are overdue to come back", () => {
    const { sessions } = makeSessions();
    const first = sessionIdOf(sessions.receive("c1", W1, { type: "open", nodeId: "w1", keyringVersion: 0 }, 0));
    sessions.connectionClosed("c1");
    expect(sessions.tick(2_000)).toEqual([]);
    const reopened = sessions.receive("c2", W1, { type: "open", nodeId: "w1", keyringVersion: 0 }, 2_500);
    expect(sessionIdOf(reopened)).not.toBe(first);
    expect(reports(sessions.tick(4_000))).toEqual([]);
  });

  test("a second open from the same node supersedes the first connection", () => {
    const { sessions } = makeSessions();
    sessions.receive("c1", W1, { type: "open", nodeId: "w1", keyringVersion: 0 }, 0);
    const actions = sessions.receive("c2", W1, { type: "open", nodeId: "w1", keyringVersion: 0 }, 10);
    expect(actions.slice(0, 2)).toEqual([
      { kind: "send", connectionId: "c1", message: { type: "closed", reason: "superseded" } },
      { kind: "close", connectionId: "c1" },
    ]);
    expect(kinds(sessions.receive("c1", W1, { type: "heartbeat", sessionId: "x", seq: 1 }, 20))).toEqual(["closed", "close"]);
  });

  test("does not report down a session the records show superseded by another manager's", () => {
    const { sessions } = makeSessions();
    sessions.receive("c1", W1, { type: "open", nodeId: "w1", keyringVersion: 0 }, 0);
    sessions.reconcile(view(new Map([["w1", { status: "ready", sessionId: "feed", manager: "m2" }]])), 100);
    expect(reports(sessions.tick(5_000))).toEqual([]);
  });

  test("reconcile repeats a ready report the records lack, once per heartbeat period", () => {
    const { sessions } = makeSessions();
    const sessionId = sessionIdOf(sessions.receive("c1", W1, { type: "open", nodeId: "w1", keyringVersion: 0 }, 0));
    const empty = new Map<string, SessionRecord>();
    expect(reports(sessions.reconcile(view(empty), 500))).toEqual([]);
    expect(reports(sessions.reconcile(view(empty), 1_000))).toEqual([{ nodeId: "w1", status: "ready", sessionId, manager: "m1" }]);
    expect(reports(sessions.reconcile(view(empty), 1_500))).toEqual([]);
    expect(reports(sessions.reconcile(view(new Map([["w1", { status: "ready", sessionId, manager: "m1" }]])), 5_000))).toEqual([]);
  });

  test("a ready record naming a session this manager lost is reported down after orphanGrace", () => {
    const { sessions } = makeSessions();
    const records = new Map([["w1", { status: "ready" as const, sessionId: "0badc0de", manager: "m1" }]]);
    expect(reports(sessions.reconcile(view(records), 0))).toEqual([]);
    expect(reports(sessions.reconcile(view(records), 4_999))).toEqual([]);
    expect(reports(sessions.reconcile(view(records), 5_000))).toEqual([
      { nodeId: "w1", status: "down", sessionId: "0badc0de", manager: "m1", reason: "session lost by its manager" },
    ]);
    expect(reports(sessions.reconcile(view(records), 6_000))).toEqual([]);
  });

  test("only the leader reports nodes of an unreachable manager down", () => {
    const records = new Map([["w1", { status: "ready" as const, sessionId: "abc", manager: "m2" }]]);
    const follower = makeSessions().sessions;
    follower.reconcile(view(records), 0);
    expect(reports(follower.reconcile(view(records), 10_000))).toEqual([]);
    const leader = makeSessions().sessions;
    const leading = { leader: true, reachableManagers: new Set(["m1", "m2"]) };
    leader.reconcile(view(records, leading), 0);
    expect(reports(leader.reconcile(view(records, leading), 10_000))).toEqual([]);
    const m2Gone = { leader: true, reachableManagers: new Set(["m1"]) };
    leader.reconcile(view(records, m2Gone), 10_000);
    expect(reports(leader.reconcile(view(records, m2Gone), 15_000))).toEqual([
      { nodeId: "w1", status: "down", sessionId: "abc", manager: "m2", reason: "manager m2 unreachable" },
    ]);
  });

  test("a change of managers is pushed to every connected session, once", () => {
    const { sessions } = makeSessions();
    const records = new Map<string, SessionRecord>();
    sessions.reconcile(view(records), 0);
    const sessionId = sessionIdOf(sessions.receive("c1", W1, { type: "open", nodeId: "w1", keyringVersion: 0 }, 0));
    const two = [{ nodeId: "m1", address: "127.0.0.1:7370" }, { nodeId: "m2", address: "127.0.0.2:7370" }];
    expect(sessions.reconcile(view(records, { managers: two }), 100)).toEqual([
      { kind: "send", connectionId: "c1", message: { type: "managers", sessionId, managers: two } },
    ]);
    expect(sessions.reconcile(view(records, { managers: [...two] }), 200)).toEqual([]);
  });

  test("keyring acknowledgements stop the resends; remove and closeAll tell the nodes why", () => {
    const { sessions } = makeSessions("m1", true);
    const sessionId = sessionIdOf(sessions.receive("c1", W1, { type: "open", nodeId: "w1", keyringVersion: 0 }, 0));
    expect(kinds(sessions.tick(2_000))).toEqual(["keyring"]);
    sessions.receive("c1", W1, { type: "keyringAck", sessionId, version: 1 }, 2_100);
    sessions.receive("c1", W1, { type: "heartbeat", sessionId, seq: 1 }, 2_100);
    expect(sessions.tick(4_100)).toEqual([]);
    expect(sessions.remove("w1")).toEqual([
      { kind: "send", connectionId: "c1", message: { type: "closed", reason: "removed" } },
      { kind: "close", connectionId: "c1" },
    ]);
    sessions.receive("c2", node("w2", 12), { type: "open", nodeId: "w2", keyringVersion: 1 }, 5_000);
    expect(kinds(sessions.closeAll())).toEqual(["closed", "close"]);
    expect(sessions.served()).toEqual([]);
  });
});

describe("session reports in node records", () => {
  test("statusCommand and sessionRecordOf round-trip the session and manager", () => {
    const ready = statusCommand({ nodeId: "w1", status: "ready", sessionId: "00ff", manager: "m1" }, 42);
    expect(ready).toEqual({ type: "nodeStatus", nodeId: "w1", status: "ready", message: "session 00ff via m1", at: 42 });
    const down = statusCommand({ nodeId: "w1", status: "down", sessionId: "00ff", manager: "m1", reason: "no heartbeat for 15 s" }, 43);
    if (down.type !== "nodeStatus") throw new Error("not a status command");
    expect(sessionRecordOf({ status: "down", statusMessage: down.message })).toEqual({ status: "down", sessionId: "00ff", manager: "m1" });
  });

  test("a message not in the session form yields the status alone", () => {
    expect(sessionRecordOf({ status: "unknown", statusMessage: "" })).toEqual({ status: "unknown" });
    expect(sessionRecordOf({ status: "ready", statusMessage: "session XYZ via m1" })).toEqual({ status: "ready" });
  });
});
