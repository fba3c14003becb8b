import { describe, expect, test } from "bun:test";
import { encodeCbor, encodeEnvelope } from "../../../core/common/envelope.ts";
import { DecodeError } from "../../../core/common/errors.ts";
import { SeededRandom } from "../../../core/common/random.ts";
import { packBulkSync } from "../../../core/gossip/networkdb/bulksync.ts";
import { decodeMessage, encodeEntry, encodeGossip, encodeMessage } from "../../../core/gossip/networkdb/codec.ts";
import { NetworkDb } from "../../../core/gossip/networkdb/networkdb.ts";
import type { EntryRecord } from "../../../core/gossip/networkdb/types.ts";

const limits = { maxValueBytes: 640, maxReapInMs: 60_000 };
const entry: EntryRecord = { table: "endpoints", key: "ep1", owner: "w1", ltime: 7, ownerJoin: 3, value: Uint8Array.of(1, 2, 3), reapIn: null };

describe("networkdb codec", () => {
  test("round-trips every message type", () => {
    const gossip = decodeMessage(encodeGossip("w1", "L", [encodeEntry(entry)]), limits);
    expect(gossip).toEqual({ type: "gossip", from: "w1", network: "L", events: [entry] });
    const bulk = { type: "bulk" as const, from: "w2", network: "L", reply: true, attachments: [{ node: "w1", network: "L", ltime: 3, joined: true }], entries: [entry] };
    expect(decodeMessage(encodeMessage(bulk), limits)).toEqual(bulk);
    const attachments = { type: "attachments" as const, records: [{ node: "w1", network: "R", ltime: 9, joined: false }] };
    expect(decodeMessage(encodeMessage(attachments), limits)).toEqual(attachments);
  });

  test("clamps a tombstone's residual time to the local reap timeout", () => {
    const tombstone = { ...entry, value: new Uint8Array(), reapIn: 10 * 60_000 };
    const decoded = decodeMessage(encodeGossip("w1", "L", [encodeEntry(tombstone)]), limits);
    expect(decoded.type === "gossip" && decoded.events[0]?.reapIn).toBe(60_000);
  });

  const body = (value: unknown) => encodeEnvelope("networkdb", 1, value);
  const gossipWith = (event: Record<string, unknown>) => body({ type: "gossip", from: "w1", network: "L", events: [encodeCbor(event)] });
  const rejected: [string, Uint8Array][] = [
    ["not CBOR", Uint8Array.of(0xff, 0x00, 0x13)],
    ["wrong envelope kind", encodeEnvelope("raft.msg", 1, {})],
    ["unsupported version", encodeEnvelope("networkdb", 2, { type: "attachments", records: [] })],
    ["body not a map", body([1, 2])],
    ["unknown type", body({ type: "gossipx" })],
    ["extra field", body({ type: "attachments", records: [], extra: 1 })],
    ["missing field", body({ type: "gossip", from: "w1", network: "L" })],
    ["empty network name", body({ type: "gossip", from: "w1", network: "", events: [] })],
    ["network name with a space", body({ type: "gossip", from: "w1", network: "a b", events: [] })],
    ["overlong name", body({ type: "gossip", from: "w1", network: "n".repeat(129), events: [] })],
    ["events not a list", body({ type: "gossip", from: "w1", network: "L", events: {} })],
    ["event not bytes", body({ type: "gossip", from: "w1", network: "L", events: [entry] })],
    ["event not CBOR", body({ type: "gossip", from: "w1", network: "L", events: [Uint8Array.of(0xff)] })],
    ["negative ltime", gossipWith({ ...entry, ltime: -1 })],
    ["fractional ltime", gossipWith({ ...entry, ltime: 1.5 })],
    ["zero ltime", gossipWith({ ...entry, ltime: 0, ownerJoin: 0 })],
    ["join after write", gossipWith({ ...entry, ownerJoin: 8 })],
    ["value not bytes", gossipWith({ ...entry, value: "abc" })],
    ["value too large", gossipWith({ ...entry, value: new Uint8Array(641) })],
    ["tombstone with a value", gossipWith({ ...entry, reapIn: 5 })],
    ["reapIn not a number", gossipWith({ ...entry, value: new Uint8Array(), reapIn: "soon" })],
    ["bulk with another network's attachment", body({ type: "bulk", from: "w1", network: "L", reply: false, attachments: [{ node: "w1", network: "R", ltime: 1, joined: true }], entries: [] })],
    ["reply not a boolean", body({ type: "bulk", from: "w1", network: "L", reply: 1, attachments: [], entries: [] })],
    ["attachment ltime zero", body({ type: "attachments", records: [{ node: "w1", network: "L", ltime: 0, joined: true }] })],
    ["attachment joined not a boolean", body({ type: "attachments", records: [{ node: "w1", network: "L", ltime: 1, joined: "yes" }] })],
  ];
  for (const [what, bytes] of rejected) {
    test(`rejects ${what}`, () => {
      expect(() => decodeMessage(bytes, limits)).toThrow(DecodeError);
    });
  }

  test("a node drops and counts malformed input without changing state", () => {
    const db = new NetworkDb({ self: "w1", random: new SeededRandom(1), now: 0 });
    db.joinNetwork("L");
    db.createEntry("L", "t", "k", Uint8Array.of(1));
    const before = db.localState();
    for (const [, bytes] of rejected) {
      db.notifyMsg(bytes);
      db.mergeRemoteState(bytes);
    }
    // A push-pull state must be attachment records: a well-formed gossip message is refused there.
    db.mergeRemoteState(encodeGossip("w2", "L", [encodeEntry(entry)]));
    expect(db.stats().malformedDropped).toBe(rejected.length * 2 + 1);
    expect(db.localState()).toEqual(before);
    expect(db.list("L").map((view) => view.key)).toEqual(["k"]);
  });

  test("random and mutated bytes never throw out of notifyMsg", () => {
    const random = new SeededRandom(42);
    const db = new NetworkDb({ self: "w1", random: random.fork(), now: 0 });
    db.joinNetwork("L");
    db.memberAlive("w2");
    const valid = [
      encodeGossip("w2", "L", [encodeEntry({ ...entry, owner: "w2" })]),
      encodeMessage({ type: "bulk", from: "w2", network: "L", reply: true, attachments: [{ node: "w2", network: "L", ltime: 3, joined: true }], entries: [{ ...entry, owner: "w2" }] }),
      encodeMessage({ type: "attachments", records: [{ node: "w2", network: "L", ltime: 3, joined: true }] }),
    ];
    for (let i = 0; i < 3000; i++) {
      const bytes = i % 2 === 0 ? (valid[random.int(valid.length)] as Uint8Array).slice() : new Uint8Array(random.int(64));
      if (i % 2 === 0) for (let flips = random.between(1, 4); flips > 0; flips--) bytes[random.int(bytes.length)] = random.nextUint32() & 0xff;
      else for (let j = 0; j < bytes.length; j++) bytes[j] = random.nextUint32() & 0xff;
      db.notifyMsg(bytes);
    }
    const stats = db.stats();
    expect(stats.messagesReceived).toBe(3000);
    expect(stats.malformedDropped).toBeGreaterThan(1500);
    expect(db.list("L").every((view) => view.value.length <= 640)).toBe(true);
    // Still fully working afterwards.
    db.createEntry("L", "t", "after-fuzz", Uint8Array.of(1));
    expect(db.get("L", "t", "after-fuzz")).toBeDefined();
  });
});

describe("bulk-sync packing", () => {
  test("splits state into parts under the cap, only the first asking for a reply, losing nothing", () => {
    const attachments = Array.from({ length: 40 }, (_, i) => ({ node: `node-${i}`, network: "L", ltime: i + 1, joined: i % 3 !== 0 }));
    const entries = Array.from({ length: 80 }, (_, i) => ({ ...entry, key: `key-${i}`, value: new Uint8Array(100).fill(i) }));
    const parts = packBulkSync({ from: "w1", network: "L", reply: true }, attachments, entries, 2_000);
    expect(parts.length).toBeGreaterThan(4);
    const decoded = parts.map((bytes) => {
      expect(bytes.length).toBeLessThanOrEqual(2_000);
      const message = decodeMessage(bytes, limits);
      if (message.type !== "bulk") throw new Error("not a bulk message");
      return message;
    });
    expect(decoded.map((message) => message.reply)).toEqual(decoded.map((_, i) => i === 0));
    expect(decoded.flatMap((message) => message.attachments)).toEqual(attachments);
    expect(decoded.flatMap((message) => message.entries)).toEqual(entries);
  });

  test("an empty state is one message", () => {
    const parts = packBulkSync({ from: "w1", network: "L", reply: false }, [], [], 2_000);
    expect(parts.map((bytes) => decodeMessage(bytes, limits))).toEqual([{ type: "bulk", from: "w1", network: "L", reply: false, attachments: [], entries: [] }]);
  });
});
