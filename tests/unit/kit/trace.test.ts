import { describe, expect, test } from "bun:test";
import { Trace, VirtualClock } from "../../kit/index.ts";

describe("Trace", () => {
  test("equal events give equal hashes; any difference changes the hash", () => {
    const a = new Trace();
    const b = new Trace();
    for (const t of [a, b]) t.append("send", "n1", "n2", 7);
    expect(a.hash()).toBe(b.hash());
    b.append("x");
    expect(a.hash()).not.toBe(b.hash());
  });

  test("event boundaries are part of the hash", () => {
    const a = new Trace();
    const b = new Trace();
    a.append("ab");
    a.append("c");
    b.append("a");
    b.append("bc");
    expect(a.hash()).not.toBe(b.hash());
  });

  test("hash() can be called mid-run and the trace keeps growing", () => {
    const t = new Trace();
    t.append("one");
    const first = t.hash();
    expect(t.hash()).toBe(first);
    t.append("two");
    expect(t.hash()).not.toBe(first);
    expect(t.length).toBe(2);
  });

  test("with a clock, events carry the virtual time", () => {
    const clock = new VirtualClock();
    const t = new Trace({ clock, keep: 2 });
    t.append("a");
    clock.advance(5);
    t.append("b");
    t.append("c");
    expect(t.tail()).toEqual(["t=5 b", "t=5 c"]);
    expect(t.tail(1)).toEqual(["t=5 c"]);
    expect(t.length).toBe(3);
  });
});
