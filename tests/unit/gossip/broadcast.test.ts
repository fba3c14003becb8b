import { describe, expect, test } from "bun:test";
import { BroadcastQueue, retransmitLimit } from "../../../core/gossip/broadcast.ts";

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (items: Uint8Array[]) => items.map((item) => new TextDecoder().decode(item));

describe("BroadcastQueue", () => {
  test("retransmit limit is mult * ceil(log10(n + 1))", () => {
    expect(retransmitLimit(4, 1)).toBe(4);
    expect(retransmitLimit(4, 9)).toBe(4);
    expect(retransmitLimit(4, 10)).toBe(8);
    expect(retransmitLimit(4, 1000)).toBe(16);
  });

  test("each broadcast is sent exactly the retransmit limit, then leaves the queue", () => {
    const queue = new BroadcastQueue(2);
    queue.enqueue("a", bytes("alive-a"));
    let sent = 0;
    for (let round = 0; round < 10; round++) sent += queue.take(0, 1000, 5).length;
    expect(sent).toBe(retransmitLimit(2, 5));
    expect(queue.size).toBe(0);
    expect(queue.has("a")).toBe(false);
  });

  test("a copy heard from another member counts as the given number of transmits; unknown keys are ignored", () => {
    const queue = new BroadcastQueue(4);
    queue.enqueue("a", bytes("dead-a"));
    queue.heard("a", 5, 1);
    queue.heard("unknown", 5, 1);
    let sent = 0;
    for (let round = 0; round < 10; round++) sent += queue.take(0, 1000, 5).length;
    expect(sent).toBe(retransmitLimit(4, 5) - 1);
    queue.enqueue("b", bytes("dead-b"));
    queue.heard("b", 5, 2);
    expect(queue.has("b")).toBe(true);
    queue.heard("b", 5, 2);
    expect(queue.has("b")).toBe(false);
    expect(queue.size).toBe(0);
  });

  test("a newer message about the same key replaces the older one", () => {
    const queue = new BroadcastQueue(4);
    queue.enqueue("a", bytes("old"));
    queue.enqueue("a", bytes("new"));
    expect(queue.size).toBe(1);
    expect(text(queue.take(0, 1000, 3))).toEqual(["new"]);
  });

  test("least-transmitted first, newest first among equals", () => {
    const queue = new BroadcastQueue(4);
    queue.enqueue("a", bytes("a"));
    expect(text(queue.take(0, 1000, 3))).toEqual(["a"]);
    queue.enqueue("b", bytes("b"));
    queue.enqueue("c", bytes("c"));
    // Room for two one-byte messages: the never-sent ones win over "a".
    expect(text(queue.take(0, 2, 3))).toEqual(["c", "b"]);
    expect(text(queue.take(0, 3, 3))).toEqual(["c", "b", "a"]);
  });

  test("respects the byte limit including per-message overhead, and skips to smaller messages", () => {
    const queue = new BroadcastQueue(4);
    queue.enqueue("small", bytes("xx"));
    queue.enqueue("big", bytes("y".repeat(50)));
    expect(text(queue.take(2, 10, 3))).toEqual(["xx"]);
    expect(text(queue.take(2, 52, 3))).toEqual(["y".repeat(50)]);
  });

  test("unkeyed broadcasts never replace each other", () => {
    const queue = new BroadcastQueue(1);
    queue.enqueue(undefined, bytes("1"));
    queue.enqueue(undefined, bytes("2"));
    expect(queue.size).toBe(2);
    expect(text(queue.take(0, 100, 1)).sort()).toEqual(["1", "2"]);
    expect(queue.size).toBe(0);
  });
  test("a full packet leaves the broadcasts it did not reach queued in their order", () => {
    const queue = new BroadcastQueue(4);
    for (const key of ["a", "b", "c", "d", "e"]) queue.enqueue(key, bytes(key));
    expect(text(queue.take(0, 2, 3))).toEqual(["e", "d"]);
    expect(text(queue.take(0, 3, 3))).toEqual(["c", "b", "a"]);
    expect(text(queue.take(0, 5, 3))).toEqual(["c", "b", "a", "e", "d"]);
  });
});
