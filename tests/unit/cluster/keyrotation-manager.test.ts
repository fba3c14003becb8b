import { describe, expect, test } from "bun:test";
import {
  decodeKeyEntry,
  decodeKeyState,
  encodeKeyEntry,
  encodeKeyState,
  keyIdOf,
  keyRotationConfig,
  KEYS_KEPT,
  primaryKey,
} from "../../../core/cluster/keyrotation/index.ts";
import { DecodeError, ShoalError } from "../../../core/common/errors.ts";
import { encodeEnvelope } from "../../../core/common/envelope.ts";
import { commit, HOUR, makeManager, MINUTE } from "./keyrotation-fixture.ts";

describe("key rotation config", () => {
  test("defaults to a 12 hour rotation", () => {
    expect(keyRotationConfig().rotationInterval).toBe(12 * HOUR);
  });

  test("rejects non-positive and fractional durations, naming the field", () => {
    expect(() => keyRotationConfig({ rotationInterval: 0 })).toThrow(/rotationInterval/);
    expect(() => keyRotationConfig({ distributionRetry: 1.5 })).toThrow(/distributionRetry/);
    expect(() => keyRotationConfig({ rotationInterval: MINUTE, installGrace: 2 * MINUTE })).toThrow(/installGrace cannot exceed/);
  });
});

describe("KeyManager schedule", () => {
  test("only the leader proposes; the first tick creates the first key, which is primary", () => {
    const manager = makeManager();
    expect(manager.tick(0)).toEqual([]);
    manager.setLeader(true);
    const proposals = manager.tick(1_000);
    expect(proposals).toHaveLength(1);
    commit([manager], proposals);
    expect(manager.version()).toBe(1);
    expect(manager.state().nextRotationAt).toBe(1_000 + 12 * HOUR);
    expect(primaryKey(manager.state().keys)?.serial).toBe(1);
  });

  test("rotates when due, keeps three keys, and the primary is the key of the previous rotation", () => {
    const manager = makeManager(1, { rotationInterval: HOUR });
    manager.setLeader(true);
    commit([manager], manager.tick(0));
    expect(manager.tick(HOUR - 1)).toEqual([]);
    for (let rotation = 1; rotation <= 5; rotation++) commit([manager], manager.tick(rotation * HOUR));
    const { keys, nextRotationAt } = manager.state();
    expect(keys.map((key) => key.serial)).toEqual([4, 5, 6]);
    expect(keys).toHaveLength(KEYS_KEPT);
    expect(primaryKey(keys)?.serial).toBe(5);
    expect(nextRotationAt).toBe(6 * HOUR);
  });

  test("does not repeat a proposal still in flight, but does after proposalRetry", () => {
    const manager = makeManager(1, { rotationInterval: HOUR, proposalRetry: 10_000 });
    manager.setLeader(true);
    commit([manager], manager.tick(0));
    const first = manager.tick(HOUR);
    expect(first).toHaveLength(1);
    expect(manager.tick(HOUR + 9_999)).toEqual([]);
    const again = manager.tick(HOUR + 10_000);
    expect(again).toHaveLength(1);
    // Both carry serial 2: whichever commits first wins, the other is stale everywhere.
    commit([manager], first);
    expect(manager.replica.apply(again[0] as Uint8Array)?.code).toBe("gossip_key_stale");
    expect(manager.version()).toBe(2);
  });

  test("a new leader continues the replicated schedule instead of restarting it (moby/moby#52005)", () => {
    const interval = HOUR;
    const managers = [makeManager(1, { rotationInterval: interval }), makeManager(2, { rotationInterval: interval }), makeManager(3, { rotationInterval: interval })];
    let leader = 0;
    managers[0]?.setLeader(true);
    const end = 50 * interval;
    // Leadership moves every 40 minutes: a timer restarted on each change would never fire.
    for (let now = 0; now <= end; now += 1_000) {
      if (now > 0 && now % (40 * MINUTE) === 0) {
        managers[leader]?.setLeader(false);
        leader = (leader + 1) % managers.length;
        managers[leader]?.setLeader(true);
      }
      commit(managers, managers[leader]?.tick(now) ?? []);
    }
    expect(managers[0]?.version()).toBe(51);
    for (const manager of managers) expect(encodeKeyState(manager.state())).toEqual(encodeKeyState(managers[0]?.state() ?? manager.state()));
  });

  test("slots stay anchored to the schedule and slots missed without a leader are skipped, not replayed", () => {
    const manager = makeManager(1, { rotationInterval: HOUR });
    manager.setLeader(true);
    commit([manager], manager.tick(0));
    commit([manager], manager.tick(HOUR + 7_000));
    expect(manager.state().nextRotationAt).toBe(2 * HOUR);
    commit([manager], manager.tick(5 * HOUR + 30 * MINUTE));
    expect(manager.version()).toBe(3);
    expect(manager.state().nextRotationAt).toBe(6 * HOUR);
    expect(manager.tick(5 * HOUR + 31 * MINUTE)).toEqual([]);
  });

  test("rotateNow waits until the newest key has been out for installGrace, and survives a leader change", () => {
    const config = { rotationInterval: HOUR, installGrace: MINUTE };
    const first = makeManager(1, config);
    const second = makeManager(2, config);
    first.setLeader(true);
    commit([first, second], first.tick(0));
    commit([first, second], first.tick(HOUR));
    const request = first.rotateNow(HOUR + 10_000);
    expect(request.rotatesAt).toBe(HOUR + MINUTE);
    commit([first, second], request.proposals);
    first.setLeader(false);
    second.setLeader(true);
    expect(second.tick(HOUR + 30_000)).toEqual([]);
    commit([first, second], second.tick(HOUR + MINUTE));
    expect(second.version()).toBe(3);
    expect(second.state().nextRotationAt).toBe(2 * HOUR + MINUTE);
  });

  test("rotateNow refuses on a follower and changes nothing when the schedule is already sooner", () => {
    const manager = makeManager(1, { rotationInterval: HOUR, installGrace: HOUR });
    expect(() => manager.rotateNow(0)).toThrow(ShoalError);
    manager.setLeader(true);
    commit([manager], manager.tick(0));
    expect(manager.rotateNow(10_000)).toEqual({ proposals: [], rotatesAt: HOUR });
  });

  test("a reschedule overtaken by a rotation is superseded; a garbage or malformed entry is refused; none changes state", () => {
    const manager = makeManager(1, { rotationInterval: HOUR, installGrace: MINUTE });
    manager.setLeader(true);
    commit([manager], manager.tick(0));
    const request = manager.rotateNow(30 * MINUTE);
    commit([manager], manager.tick(HOUR));
    const before = encodeKeyState(manager.state());
    const refusal = (entry: Uint8Array) => manager.replica.apply(entry)?.code;
    expect(refusal(request.proposals[0] as Uint8Array)).toBe("gossip_key_superseded");
    expect(refusal(new Uint8Array([1, 2, 3]))).toBe("invalid_command");
    expect(refusal(encodeEnvelope("cluster.gossipKeys.entry", 1, { type: "rotate", serial: 3, key: new Uint8Array(31), createdAt: 0, nextRotationAt: 0 }))).toBe("invalid_command");
    const pastSchedule = encodeKeyEntry({ type: "rotate", serial: 3, key: new Uint8Array(32).fill(9), createdAt: 2 * HOUR, nextRotationAt: 2 * HOUR });
    expect(refusal(pastSchedule)).toBe("gossip_key_malformed");
    expect(encodeKeyState(manager.state())).toEqual(before);
  });

  test("keyringFor refuses before the first key", () => {
    expect(() => makeManager().keyringFor({ nodeId: "n1", boxPublicKey: new Uint8Array(32) })).toThrow(/no gossip key yet/);
  });

  test("the key id is the serial as 8 hex digits", () => {
    expect(keyIdOf(1)).toBe("00000001");
    expect(keyIdOf(0xabcdef)).toBe("00abcdef");
  });
});

describe("key rotation codec", () => {
  test("entries and state round-trip", () => {
    const manager = makeManager(1, { rotationInterval: HOUR });
    manager.setLeader(true);
    const [entry] = manager.tick(5);
    expect(decodeKeyEntry(entry as Uint8Array)).toMatchObject({ type: "rotate", serial: 1, createdAt: 5, nextRotationAt: 5 + HOUR });
    commit([manager], [entry as Uint8Array]);
    expect(decodeKeyState(encodeKeyState(manager.state()))).toEqual(manager.state());
  });

  test("rejects malformed entries and snapshots with a DecodeError naming the field", () => {
    const entry = (body: unknown) => encodeEnvelope("cluster.gossipKeys.entry", 1, body);
    expect(() => decodeKeyEntry(entry({ type: "explode" }))).toThrow(/unknown gossip key entry type/);
    expect(() => decodeKeyEntry(entry({ type: "reschedule", serial: 0, rotateAt: 1 }))).toThrow(/serial/);
    expect(() => decodeKeyEntry(entry({ type: "reschedule", serial: 1, rotateAt: -1 }))).toThrow(/rotateAt/);
    expect(() => decodeKeyEntry(entry([1, 2]))).toThrow(/entry must be a map/);
    expect(() => decodeKeyEntry(encodeEnvelope("cluster.gossipKeys.entry", 9, {}))).toThrow(/unsupported/);
    const state = (keys: unknown) => encodeEnvelope("cluster.gossipKeys.state", 1, { keys, nextRotationAt: 0 });
    const key = (serial: number) => ({ serial, key: new Uint8Array(32), createdAt: 0 });
    expect(() => decodeKeyState(state([key(1), key(2), key(3), key(4)]))).toThrow(/1 to 3 keys/);
    expect(() => decodeKeyState(state([key(2), key(1)]))).toThrow(/serials must increase/);
    expect(() => decodeKeyState(state([{ ...key(1), key: "x" }]))).toThrow(DecodeError);
    expect(decodeKeyState(state([])).keys).toEqual([]);
  });
});
