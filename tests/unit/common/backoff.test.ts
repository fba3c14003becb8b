/** The one backoff every redialling component uses. */
import { expect, test } from "bun:test";
import { backoffDelay } from "../../../core/common/backoff.ts";
import { SeededRandom } from "../../../core/common/random.ts";

const bounds = { minMs: 100, maxMs: 1000 };

test("the ceiling doubles per failure up to maxMs, and each wait lies in [ceiling/2, ceiling]", () => {
  const random = new SeededRandom(7);
  const ceilings = [100, 200, 400, 800, 1000, 1000, 1000];
  ceilings.forEach((ceiling, i) => {
    for (let draw = 0; draw < 200; draw++) {
      const wait = backoffDelay(i + 1, bounds, random);
      expect(wait).toBeGreaterThanOrEqual(ceiling / 2);
      expect(wait).toBeLessThanOrEqual(ceiling);
      expect(Number.isInteger(wait)).toBe(true);
    }
  });
});

test("waits are jittered, not all alike, and a huge failure count does not overflow", () => {
  const random = new SeededRandom(1);
  const waits = new Set(Array.from({ length: 50 }, () => backoffDelay(3, bounds, random)));
  expect(waits.size).toBeGreaterThan(10);
  const late = backoffDelay(10_000, bounds, random);
  expect(late).toBeGreaterThanOrEqual(500);
  expect(late).toBeLessThanOrEqual(1000);
  expect(backoffDelay(0, bounds, random)).toBeLessThanOrEqual(100);
});
