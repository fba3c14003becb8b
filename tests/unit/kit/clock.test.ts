import { describe, expect, test } from "bun:test";
import { MinHeap, SeededRandom, VirtualClock } from "../../kit/index.ts";

describe("VirtualClock", () => {
  test("fires timers in due-time order, ties in creation order", () => {
    const clock = new VirtualClock();
    const fired: string[] = [];
    clock.setTimer(30, () => fired.push("c30"));
    clock.setTimer(10, () => fired.push("a10"));
    clock.setTimer(10, () => fired.push("b10"));
    clock.setTimer(0, () => fired.push("zero"));
    clock.advance(30);
    expect(fired).toEqual(["zero", "a10", "b10", "c30"]);
  });

  test("now() inside a callback is the timer's due time, and advance ends at its target", () => {
    const clock = new VirtualClock(1000);
    const seen: number[] = [];
    clock.setTimer(7, () => seen.push(clock.now()));
    clock.setTimer(3, () => seen.push(clock.now()));
    clock.advance(20);
    expect(seen).toEqual([1003, 1007]);
    expect(clock.now()).toBe(1020);
  });

  test("timers set from timers fire in the same advance when due, after earlier ties", () => {
    const clock = new VirtualClock();
    const fired: string[] = [];
    clock.setTimer(5, () => {
      fired.push("outer");
      clock.setTimer(0, () => fired.push("inner-now"));
      clock.setTimer(3, () => fired.push("inner-8"));
      clock.setTimer(100, () => fired.push("inner-105"));
    });
    clock.setTimer(5, () => fired.push("tie"));
    clock.advance(10);
    expect(fired).toEqual(["outer", "tie", "inner-now", "inner-8"]);
    expect(clock.pendingTimers()).toBe(1);
    expect(clock.nextDueAt()).toBe(105);
  });

  test("does not fire timers due after the target", () => {
    const clock = new VirtualClock();
    let fired = false;
    clock.setTimer(11, () => (fired = true));
    clock.advance(10);
    expect(fired).toBe(false);
    clock.advance(1);
    expect(fired).toBe(true);
  });

  test("clearTimer cancels, including from another timer due at the same time", () => {
    const clock = new VirtualClock();
    const fired: string[] = [];
    let second = 0;
    clock.setTimer(5, () => {
      fired.push("first");
      clock.clearTimer(second);
    });
    second = clock.setTimer(5, () => fired.push("second"));
    const third = clock.setTimer(1, () => fired.push("third"));
    clock.clearTimer(third);
    clock.clearTimer(12345);
    clock.advance(10);
    expect(fired).toEqual(["first"]);
    expect(clock.pendingTimers()).toBe(0);
    expect(clock.nextDueAt()).toBeUndefined();
  });

  test("every() repeats until cleared, keeping its id", () => {
    const clock = new VirtualClock();
    const ticks: number[] = [];
    const id = clock.every(10, () => {
      ticks.push(clock.now());
      if (ticks.length === 3) clock.clearTimer(id);
    });
    clock.advance(100);
    expect(ticks).toEqual([10, 20, 30]);
    expect(() => clock.every(0, () => {})).toThrow(RangeError);
  });

  test("runUntil stops as soon as the predicate holds, jumping between timers", () => {
    const clock = new VirtualClock();
    let count = 0;
    clock.every(250, () => count++);
    expect(clock.runUntil(() => count === 4, 10_000)).toBe(true);
    expect(clock.now()).toBe(1000);
    expect(clock.runUntil(() => count === 100, 500)).toBe(false);
    expect(clock.now()).toBe(1500);
  });

  test("runUntil with a step checks the predicate at every step", () => {
    const clock = new VirtualClock();
    const checks: number[] = [];
    const held = clock.runUntil(() => {
      checks.push(clock.now());
      return clock.now() >= 30;
    }, 100, 10);
    expect(held).toBe(true);
    expect(checks).toEqual([0, 10, 20, 30]);
  });

  test("runUntil returns true without advancing when the predicate already holds", () => {
    const clock = new VirtualClock();
    expect(clock.runUntil(() => true, 100)).toBe(true);
    expect(clock.now()).toBe(0);
  });

  test("rejects moving backwards and bad arguments", () => {
    const clock = new VirtualClock(50);
    expect(() => clock.advance(-1)).toThrow(RangeError);
    expect(() => clock.advanceTo(49)).toThrow(RangeError);
    expect(() => clock.runUntil(() => false, 10, 0)).toThrow(RangeError);
    expect(() => clock.setTimer(Number.NaN, () => {})).toThrow(/finite/);
    expect(() => clock.setTimer(Infinity, () => {})).toThrow(/finite/);
    expect(() => clock.every(Infinity, () => {})).toThrow(RangeError);
  });

  test("a throwing callback propagates and leaves the clock consistent", () => {
    const clock = new VirtualClock();
    const fired: string[] = [];
    clock.setTimer(1, () => {
      throw new Error("boom");
    });
    clock.setTimer(2, () => fired.push("after"));
    expect(() => clock.advance(5)).toThrow("boom");
    expect(clock.now()).toBe(1);
    clock.advance(4);
    expect(fired).toEqual(["after"]);
  });

  test("thousands of random timers fire sorted by (time, creation)", () => {
    const clock = new VirtualClock();
    const random = new SeededRandom(7);
    const fired: Array<[number, number]> = [];
    for (let i = 0; i < 5000; i++) {
      const due = random.int(1000);
      clock.setTimer(due, () => fired.push([clock.now(), i]));
    }
    clock.advance(1000);
    expect(fired).toHaveLength(5000);
    const sorted = [...fired].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    expect(fired).toEqual(sorted);
  });
});

describe("MinHeap", () => {
  test("pops in ascending order", () => {
    const heap = new MinHeap<number>((a, b) => a < b);
    const random = new SeededRandom(3);
    const values = Array.from({ length: 500 }, () => random.int(100));
    for (const v of values) heap.push(v);
    const out: number[] = [];
    while (heap.size > 0) out.push(heap.pop() as number);
    expect(out).toEqual([...values].sort((a, b) => a - b));
    expect(heap.pop()).toBeUndefined();
  });
});
