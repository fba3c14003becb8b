import { describe, expect, test } from "bun:test";
import {
  decodeManagerMessage, decodeNodeMessage, dispatcherConfig, encodeManagerMessage, encodeNodeMessage, type ManagerMessage, type NodeMessage,
} from "../../../core/cluster/dispatcher/index.ts";
import { encodeCbor, encodeEnvelope } from "../../../core/common/envelope.ts";
import { DecodeError } from "../../../core/common/errors.ts";
import { SeededRandom } from "../../../core/common/random.ts";

const raw = (body: unknown) => encodeEnvelope("cluster.dispatcher", 1, body);

describe("dispatcher messages", () => {
  test("every message round-trips", () => {
    const fromNode: NodeMessage[] = [
      { type: "open", nodeId: "n1", keyringVersion: 0 },
      { type: "heartbeat", sessionId: "s", seq: 7 },
      { type: "keyringAck", sessionId: "s", version: 3 },
    ];
    const fromManager: ManagerMessage[] = [
      { type: "accepted", sessionId: "s", heartbeatPeriod: 5_000, managers: [{ nodeId: "m1", address: "127.0.0.1:7370" }], gossipAddress: "127.0.0.1:7371" },
      { type: "accepted", sessionId: "s", heartbeatPeriod: 5_000, managers: [], gossipAddress: "" },
      { type: "heartbeatAck", sessionId: "s", seq: 7, heartbeatPeriod: 5_000 },
      { type: "keyring", sessionId: "s", version: 2, sealed: new Uint8Array([1, 2, 3]) },
      { type: "managers", sessionId: "s", managers: [{ nodeId: "m2", address: "127.0.0.2:7370" }] },
      { type: "closed", reason: "removed" },
    ];
    for (const message of fromNode) expect(decodeNodeMessage(encodeNodeMessage(message))).toEqual(message);
    for (const message of fromManager) expect(decodeManagerMessage(encodeManagerMessage(message))).toEqual(message);
  });

  test("rejects bad fields with a DecodeError naming them", () => {
    const cases: [() => unknown, RegExp][] = [
      [() => decodeNodeMessage(raw({ type: "open", nodeId: "", keyringVersion: 0 })), /nodeId/],
      [() => decodeNodeMessage(raw({ type: "open", nodeId: "x".repeat(129), keyringVersion: 0 })), /nodeId/],
      [() => decodeNodeMessage(raw({ type: "heartbeat", sessionId: "s", seq: -1 })), /seq/],
      [() => decodeNodeMessage(raw({ type: "keyringAck", sessionId: "s", version: 1.5 })), /version/],
      [() => decodeNodeMessage(raw({ type: "accepted" })), /unknown dispatcher message type from a node/],
      [() => decodeNodeMessage(raw([1, 2])), /message must be a map/],
      [() => decodeManagerMessage(raw({ type: "accepted", sessionId: "s", heartbeatPeriod: 0, managers: [] })), /heartbeatPeriod/],
      [() => decodeManagerMessage(raw({ type: "accepted", sessionId: "s", heartbeatPeriod: 10, managers: [{ nodeId: "m" }] })), /managers\[0\]\.address/],
      [() => decodeManagerMessage(raw({ type: "accepted", sessionId: "s", heartbeatPeriod: 10, managers: Array(65).fill({ nodeId: "m", address: "a" }) })), /managers/],
      [() => decodeManagerMessage(raw({ type: "accepted", sessionId: "s", heartbeatPeriod: 10, managers: [], gossipAddress: 7 })), /gossipAddress/],
      [() => decodeManagerMessage(raw({ type: "keyring", sessionId: "s", version: 1, sealed: "text" })), /sealed/],
      [() => decodeManagerMessage(raw({ type: "closed", reason: "bored" })), /reason/],
      [() => decodeManagerMessage(raw({ type: "open", nodeId: "n", keyringVersion: 0 })), /unknown dispatcher message type from a manager/],
      [() => decodeManagerMessage(encodeEnvelope("cluster.other", 1, {})), /./],
      [() => decodeManagerMessage(encodeEnvelope("cluster.dispatcher", 2, {})), /./],
    ];
    for (const [decode, pattern] of cases) {
      expect(decode).toThrow(DecodeError);
      expect(decode).toThrow(pattern);
    }
  });

  test("random bytes and mutated messages are rejected with DecodeError, never another error", () => {
    const random = new SeededRandom(9);
    const valid = encodeManagerMessage({ type: "accepted", sessionId: "s", heartbeatPeriod: 5_000, managers: [{ nodeId: "m1", address: "a:1" }], gossipAddress: "a:2" });
    for (let i = 0; i < 2_000; i++) {
      const bytes = i % 2 === 0 ? Uint8Array.from({ length: random.int(64) }, () => random.int(256)) : Uint8Array.from(valid);
      if (i % 2 === 1) for (let flips = 1 + random.int(3); flips > 0; flips--) bytes[random.int(bytes.length)] = random.int(256);
      for (const decode of [decodeManagerMessage, decodeNodeMessage]) {
        try {
          decode(bytes);
        } catch (error) {
          expect(error).toBeInstanceOf(DecodeError);
        }
      }
    }
    expect(() => decodeNodeMessage(encodeCbor({ type: "open" }))).toThrow(DecodeError);
  });
});

describe("dispatcher config", () => {
  test("defaults to a 5 s heartbeat and 3 missed heartbeats", () => {
    expect(dispatcherConfig()).toMatchObject({ heartbeatPeriod: 5_000, missedHeartbeats: 3 });
  });

  test("rejects non-positive or fractional values and an inverted backoff, naming the field", () => {
    expect(() => dispatcherConfig({ heartbeatPeriod: 0 })).toThrow(/heartbeatPeriod/);
    expect(() => dispatcherConfig({ orphanGrace: 1.5 })).toThrow(/orphanGrace/);
    expect(() => dispatcherConfig({ reconnectBackoffMin: 5_000, reconnectBackoffMax: 1_000 })).toThrow(/reconnectBackoffMin/);
  });
});
