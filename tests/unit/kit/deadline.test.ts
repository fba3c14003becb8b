import { expect, test } from "bun:test";
import { DeadlineTimer, VirtualClock } from "../../kit/index.ts";

test("a deadline timer keeps the earliest deadline, fires once, and re-arms after cancel", () => {
  const clock = new VirtualClock();
  const fired: number[] = [];
  const timer = new DeadlineTimer(clock, () => fired.push(clock.now()));

  timer.schedule(50);
  timer.schedule(80); // later than armed: ignored
  timer.schedule(20); // earlier: moves the timer
  clock.advance(100);
  expect(fired).toEqual([20]);

  timer.schedule(clock.now() - 5); // overdue: never sooner than 1 ms from now
  clock.advance(1);
  expect(fired).toEqual([20, 101]);

  timer.schedule(150);
  timer.cancel();
  clock.advance(100);
  expect(fired).toEqual([20, 101]);
  timer.schedule(250);
  clock.advance(100);
  expect(fired).toEqual([20, 101, 250]);
});
