import { describe, expect, test } from "bun:test";
import { Awareness } from "../../../core/gossip/awareness.ts";
import { pushPullInterval } from "../../../core/gossip/pushpull.ts";
import { Suspicion, expectedConfirmations, suspicionBounds } from "../../../core/gossip/suspicion.ts";

describe("Awareness", () => {
  test("stretches timeouts by score + 1 and stays within bounds", () => {
    const awareness = new Awareness(8);
    expect(awareness.scale(500)).toBe(500);
    awareness.applyDelta(3);
    expect(awareness.scale(500)).toBe(2000);
    awareness.applyDelta(100);
    expect(awareness.score).toBe(7);
    expect(awareness.scale(1000)).toBe(8000);
    awareness.applyDelta(-100);
    expect(awareness.score).toBe(0);
  });
});

describe("suspicion timeout", () => {
  test("bounds follow memberlist: min = mult * max(1, log10 n) * interval, max = maxMult * min", () => {
    expect(suspicionBounds(4, 6, 5, 1000)).toEqual({ min: 4000, max: 24000 });
    expect(suspicionBounds(4, 6, 100, 1000)).toEqual({ min: 8000, max: 48000 });
    expect(suspicionBounds(4, 6, 1000, 1000)).toEqual({ min: 12000, max: 72000 });
  });

  test("expects suspicionMult - 2 confirmations, none in a tiny cluster", () => {
    expect(expectedConfirmations(4, 10)).toBe(2);
    expect(expectedConfirmations(4, 3)).toBe(0);
  });

  test("starts at max and decays toward min with independent confirmations only", () => {
    const bounds = { min: 4000, max: 24000 };
    const suspicion = new Suspicion("a", 2, bounds, 1000);
    expect(suspicion.deadline).toBe(25000);
    expect(suspicion.confirm("a")).toBe(false);
    expect(suspicion.confirm("b")).toBe(true);
    expect(suspicion.confirm("b")).toBe(false);
    // log(2)/log(3) of the way from max to min.
    expect(suspicion.deadline).toBe(1000 + Math.floor(24000 - (Math.log(2) / Math.log(3)) * 20000));
    expect(suspicion.confirm("c")).toBe(true);
    expect(suspicion.deadline).toBe(5000);
    expect(suspicion.confirm("d")).toBe(false);
    expect(suspicion.confirmations).toBe(2);
  });

  test("with no confirmations expected it starts at min", () => {
    expect(new Suspicion("a", 0, { min: 4000, max: 24000 }, 0).deadline).toBe(4000);
  });
});

describe("push-pull interval", () => {
  test("flat up to 32 members, then scaled by ceil(log2(n) - log2(32)) + 1", () => {
    expect(pushPullInterval(30_000, 10)).toBe(30_000);
    expect(pushPullInterval(30_000, 32)).toBe(30_000);
    expect(pushPullInterval(30_000, 33)).toBe(60_000);
    expect(pushPullInterval(30_000, 64)).toBe(60_000);
    expect(pushPullInterval(30_000, 1000)).toBe(30_000 * 6);
  });
});
