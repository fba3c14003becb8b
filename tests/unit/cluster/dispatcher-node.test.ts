import { describe, expect, test } from "bun:test";
import { dispatcherConfig, type NodeSessionAction, NodeSession } from "../../../core/cluster/dispatcher/index.ts";
import { KeyDistributor } from "../../../core/cluster/keyrotation/index.ts";
import { SeededRandom } from "../../../core/common/random.ts";
import { boxKeysFor, commit, makeManager, makeReceiver } from "./keyrotation-fixture.ts";

const config = dispatcherConfig({ heartbeatPeriod: 1_000, missedHeartbeats: 3, openTimeout: 2_000, reconnectBackoffMin: 400, reconnectBackoffMax: 3_000 });
const MANAGERS = ["10.0.0.1:7370", "10.0.0.2:7370", "10.0.0.3:7370"];

function makeSession(managers = MANAGERS) {
  const receiver = makeReceiver("node-1", boxKeysFor(50), [boxKeysFor(1)]);
  return new NodeSession({ nodeId: "node-1", config, random: new SeededRandom(3), keyring: receiver, managers });
}

const dialled = (actions: NodeSessionAction[]) => actions.flatMap((action) => (action.kind === "dial" ? [action.address] : []));

/** Drives a session to `open` with the manager it dials first; returns that address and the session id. */
function openSession(session: NodeSession, now = 0): { address: string; sessionId: string } {
  const [address] = dialled(session.tick(now));
  if (address === undefined) throw new Error("no dial");
  expect(session.connected(address, now)).toEqual([{ kind: "send", address, message: { type: "open", nodeId: "node-1", keyringVersion: 0 } }]);
  const managers = MANAGERS.map((a, i) => ({ nodeId: `m${i}`, address: a }));
  session.receive(address, { type: "accepted", sessionId: "s1", heartbeatPeriod: 1_000, managers, gossipAddress: "10.0.0.1:7371" }, now);
  return { address, sessionId: "s1" };
}

describe("NodeSession", () => {
  test("dials a manager, opens a session and heartbeats at the period the manager gave", () => {
    const session = makeSession();
    const { address } = openSession(session);
    expect(session.status()).toMatchObject({ state: "open", address, sessionId: "s1", heartbeatPeriod: 1_000, managerGossipAddress: "10.0.0.1:7371" });
    expect(session.tick(999)).toEqual([]);
    expect(session.tick(1_000)).toEqual([{ kind: "send", address, message: { type: "heartbeat", sessionId: "s1", seq: 1 } }]);
    session.receive(address, { type: "heartbeatAck", sessionId: "s1", seq: 1, heartbeatPeriod: 500 }, 1_010);
    expect(session.tick(1_510)).toEqual([{ kind: "send", address, message: { type: "heartbeat", sessionId: "s1", seq: 2 } }]);
  });

  test("fails over to another manager after missedHeartbeats periods without a reply", () => {
    const session = makeSession();
    const { address } = openSession(session);
    for (let now = 1_000; now < 3_000; now += 1_000) expect(session.tick(now).every((action) => action.kind === "send")).toBe(true);
    const actions = session.tick(3_000);
    expect(actions[0]).toEqual({ kind: "hangUp", address });
    const [next] = dialled(actions);
    expect(next).toBeDefined();
    expect(next).not.toBe(address);
  });

  test("replies keep the session alive; a reply from another session or manager does not", () => {
    const session = makeSession();
    const { address } = openSession(session);
    const other = MANAGERS.find((a) => a !== address) as string;
    for (let now = 500; now <= 10_000; now += 500) {
      session.tick(now);
      session.receive(address, { type: "heartbeatAck", sessionId: "s1", seq: 1, heartbeatPeriod: 1_000 }, now);
      session.receive(address, { type: "heartbeatAck", sessionId: "stale", seq: 1, heartbeatPeriod: 1_000 }, now);
      session.receive(other, { type: "heartbeatAck", sessionId: "s1", seq: 1, heartbeatPeriod: 1_000 }, now);
    }
    expect(session.status()).toMatchObject({ state: "open", address });
    expect(session.tick(13_000).some((action) => action.kind === "hangUp")).toBe(true);
  });

  test("a lost connection fails over at once; a whole round of failures backs off with growing waits", () => {
    const session = makeSession();
    let now = 0;
    const waits: number[] = [];
    let [address] = dialled(session.tick(now));
    for (let failure = 1; failure <= 9; failure++) {
      const next = dialled(session.connectionLost(address as string, now));
      if (next.length > 0) {
        address = next[0];
        continue;
      }
      const status = session.status();
      if (status.state !== "idle") throw new Error(`expected idle, got ${status.state}`);
      waits.push(status.retryAt - now);
      expect(session.tick(status.retryAt - 1)).toEqual([]);
      now = status.retryAt;
      [address] = dialled(session.tick(now));
    }
    expect(waits).toHaveLength(3);
    expect(waits[0]).toBeGreaterThanOrEqual(200);
    expect(waits[0]).toBeLessThanOrEqual(400);
    expect(waits[2]).toBeGreaterThan(waits[0] as number);
    expect(waits.every((wait) => wait <= 3_000)).toBe(true);
  });

  test("a manager's own session tries the other managers first and itself last in every round", () => {
    const receiver = makeReceiver("m2", boxKeysFor(50), [boxKeysFor(1)]);
    const own = MANAGERS[1] as string;
    for (let seed = 1; seed <= 5; seed++) {
      const session = new NodeSession({ nodeId: "m2", config, random: new SeededRandom(seed), keyring: receiver, managers: MANAGERS, ownAddress: own });
      const tried = dialled(session.tick(0));
      for (let i = 0; i < 2; i++) tried.push(...dialled(session.connectionLost(tried.at(-1) as string, 0)));
      expect(tried).toHaveLength(3);
      expect(tried.at(-1)).toBe(own);
      expect(new Set(tried)).toEqual(new Set(MANAGERS));
    }
  });

  test("a manager that never answers the open is given up after openTimeout", () => {
    const session = makeSession();
    const [address] = dialled(session.tick(0));
    session.connected(address as string, 0);
    expect(session.tick(1_999)).toEqual([]);
    expect(session.tick(2_000)[0]).toEqual({ kind: "hangUp", address: address as string });
  });

  test("takes the manager list from accepted; an empty list never replaces a known one", () => {
    const session = makeSession(["10.0.0.9:7370"]);
    openSession(session);
    expect(session.managerAddresses()).toEqual(MANAGERS);
    session.setManagers([]);
    expect(session.managerAddresses()).toEqual(MANAGERS);
  });

  test("a managers message of the open session replaces the failover list", () => {
    const session = makeSession();
    const { address } = openSession(session);
    const moved = [{ nodeId: "m9", address: "10.0.0.9:7370" }];
    session.receive(address, { type: "managers", sessionId: "other", managers: moved }, 10);
    expect(session.managerAddresses()).toEqual(MANAGERS);
    session.receive(address, { type: "managers", sessionId: "s1", managers: moved }, 10);
    expect(session.managerAddresses()).toEqual(["10.0.0.9:7370"]);
  });

  test("a connection event for a manager it is not dialling is hung up, not followed", () => {
    const session = makeSession();
    const [address] = dialled(session.tick(0));
    const other = MANAGERS.find((a) => a !== address) as string;
    expect(session.connected(other, 0)).toEqual([{ kind: "hangUp", address: other }]);
    expect(session.connectionLost(other, 0)).toEqual([]);
    expect(session.status()).toMatchObject({ state: "dialing", address });
  });

  test("closed(removed) stops the session for good; closed(shuttingDown) fails over", () => {
    const removed = makeSession();
    const first = openSession(removed);
    expect(removed.receive(first.address, { type: "closed", reason: "removed" }, 10)).toEqual([{ kind: "hangUp", address: first.address }, { kind: "removed" }]);
    expect(removed.tick(100_000)).toEqual([]);
    expect(removed.status()).toEqual({ state: "removed" });

    const moved = makeSession();
    const second = openSession(moved);
    const actions = moved.receive(second.address, { type: "closed", reason: "shuttingDown" }, 10);
    expect(actions[0]).toEqual({ kind: "hangUp", address: second.address });
    expect(dialled(actions)).toHaveLength(1);
  });

  test("installs a delivered keyring and acknowledges it; a repeat is only acknowledged; a forged one is refused", () => {
    const manager = makeManager(1);
    manager.setLeader(true);
    commit([manager], manager.tick(0));
    const node = { nodeId: "node-1", boxPublicKey: boxKeysFor(50).publicKey };
    const distributor = new KeyDistributor(manager, 1_000);
    const [delivery] = distributor.connect(node, 0, 0);
    const session = makeSession();
    const { address } = openSession(session);
    const sealed = delivery?.sealed as Uint8Array;
    const actions = session.receive(address, { type: "keyring", sessionId: "s1", version: 1, sealed }, 5);
    expect(actions.map((action) => action.kind)).toEqual(["install", "send"]);
    expect(actions[1]).toEqual({ kind: "send", address, message: { type: "keyringAck", sessionId: "s1", version: 1 } });
    expect(session.receive(address, { type: "keyring", sessionId: "s1", version: 1, sealed }, 6)).toEqual([
      { kind: "send", address, message: { type: "keyringAck", sessionId: "s1", version: 1 } },
    ]);
    const forged = makeManager(77);
    forged.setLeader(true);
    commit([forged], forged.tick(0));
    commit([forged], forged.tick(13 * 60 * 60 * 1000));
    const rejected = session.receive(address, { type: "keyring", sessionId: "s1", version: 2, sealed: forged.keyringFor(node) }, 7);
    expect(rejected).toEqual([{ kind: "keyringRejected", reason: "untrustedSender", message: expect.any(String) }]);
  });
});
