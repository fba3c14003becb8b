import { expect, test } from "bun:test";
import { encodeCbor, encodeEnvelope } from "../../../core/common/envelope.ts";
import { decodeKvCommand, encodeKvCommand, KvStateMachine } from "../../../core/store/kv.ts";
import { tempDir } from "./temp-dirs.ts";

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (value: Uint8Array | undefined) => (value === undefined ? undefined : new TextDecoder().decode(value));
const conf = { voters: ["a"], learners: [], votersOutgoing: [] };

test("put, delete and the applied index survive a restart together", () => {
  const dir = tempDir();
  const kv = new KvStateMachine(dir);
  const results = kv.apply([
    { index: 3, data: encodeKvCommand({ op: "put", key: "a", value: bytes("1") }) },
    { index: 4, data: encodeKvCommand({ op: "put", key: "b", value: bytes("2") }) },
    { index: 5, data: encodeKvCommand({ op: "put", key: "a", value: bytes("3") }) },
    { index: 6, data: encodeKvCommand({ op: "delete", key: "b" }) },
  ], 7);
  expect(results).toEqual([{ ok: true, existed: false }, { ok: true, existed: false }, { ok: true, existed: true }, { ok: true, existed: true }]);
  kv.close();
  const reopened = new KvStateMachine(dir);
  expect(reopened.appliedIndex()).toBe(7);
  expect(text(reopened.get("a"))).toBe("3");
  expect(reopened.get("b")).toBeUndefined();
  reopened.close();
});

test("a malformed command yields an error result deterministically and does not stop the batch", () => {
  const kv = new KvStateMachine(tempDir());
  const results = kv.apply([
    { index: 1, data: bytes("garbage") },
    { index: 2, data: encodeEnvelope("kv.cmd", 1, { op: "explode", key: "x" }) },
    { index: 3, data: encodeEnvelope("kv.cmd", 9, { op: "put", key: "x", value: bytes("v") }) },
    { index: 4, data: encodeKvCommand({ op: "put", key: "ok", value: bytes("v") }) },
  ], 4);
  expect(results.map((r) => r.ok)).toEqual([false, false, false, true]);
  expect(results[1]).toEqual({ ok: false, error: "unknown kv op explode" });
  expect(kv.appliedIndex()).toBe(4);
  kv.close();
});

test("decodeKvCommand validates every field", () => {
  expect(() => decodeKvCommand(encodeEnvelope("kv.cmd", 1, { op: "put", key: "", value: bytes("v") }))).toThrow("key");
  expect(() => decodeKvCommand(encodeEnvelope("kv.cmd", 1, { op: "put", key: "k", value: "not bytes" }))).toThrow("value must be bytes");
  expect(() => decodeKvCommand(encodeEnvelope("kv.cmd", 1, "nope"))).toThrow("kv command must be a map");
  expect(() => decodeKvCommand(encodeCbor([1, 2]))).toThrow("not an envelope");
});

test("snapshot and restore carry the whole state and set the applied index", () => {
  const source = new KvStateMachine(tempDir());
  source.apply([{ index: 1, data: encodeKvCommand({ op: "put", key: "k1", value: bytes("v1") }) }, { index: 2, data: encodeKvCommand({ op: "put", key: "k2", value: bytes("v2") }) }], 2);
  const target = new KvStateMachine(tempDir());
  target.apply([{ index: 1, data: encodeKvCommand({ op: "put", key: "stale", value: bytes("x") }) }], 1);
  target.restore({ meta: { index: 2, term: 1, conf }, data: source.snapshot() });
  expect([text(target.get("k1")), text(target.get("k2")), target.get("stale"), target.appliedIndex(), target.size()]).toEqual(["v1", "v2", undefined, 2, 2]);
  expect(() => target.restore({ meta: { index: 3, term: 1, conf }, data: bytes("junk") })).toThrow();
  expect(target.size()).toBe(2);
  source.close();
  target.close();
});

test("a snapshot newer than its metadata's index restores the newer applied index", async () => {
  const source = new KvStateMachine(tempDir());
  source.apply([{ index: 9, data: encodeKvCommand({ op: "put", key: "k", value: bytes("v") }) }], 12);
  await source.sync();
  const target = new KvStateMachine(tempDir());
  target.restore({ meta: { index: 5, term: 1, conf }, data: source.snapshot() });
  expect(target.appliedIndex()).toBe(12);
  expect(() => target.restore({ meta: { index: 5, term: 1, conf }, data: encodeEnvelope("kv.snapshot", 1, { pairs: [] }) })).toThrow("no applied index");
  source.close();
  target.close();
});
