import { describe, expect, test } from "bun:test";
import { ReplayWindows } from "../../../core/secure/seal-replay.ts";

const windows = (size = 64, maxSenders = 100) => new ReplayWindows({ size, maxSenders });

describe("ReplayWindows", () => {
  test("each counter passes once, in any order within the window", () => {
    const replay = windows();
    for (const counter of [10, 3, 7, 63, 0]) expect(replay.check("a", 1, counter)).toBe("fresh");
    for (const counter of [10, 3, 7, 63, 0]) expect(replay.check("a", 1, counter)).toBe("duplicate");
  });

  test("counters a full window behind the newest are too old; one less is still accepted", () => {
    const replay = windows(64);
    expect(replay.check("a", 1, 100)).toBe("fresh");
    expect(replay.check("a", 1, 36)).toBe("tooOld");
    expect(replay.check("a", 1, 37)).toBe("fresh");
  });

  test("sliding forward clears the slots it reuses, so new counters are not mistaken for old ones", () => {
    const replay = windows(64);
    for (let counter = 0; counter < 64; counter++) replay.check("a", 1, counter);
    expect(replay.check("a", 1, 64 + 5)).toBe("fresh"); // reuses slot 5, and clears 64..68's slots
    for (const counter of [64, 65, 66, 67, 68]) expect(replay.check("a", 1, counter)).toBe("fresh");
    expect(replay.check("a", 1, 5)).toBe("tooOld");
  });

  test("a jump of more than a window resets it", () => {
    const replay = windows(64);
    replay.check("a", 1, 1);
    expect(replay.check("a", 1, 10_000)).toBe("fresh");
    expect(replay.check("a", 1, 9_999)).toBe("fresh");
    expect(replay.check("a", 1, 1)).toBe("tooOld");
  });

  test("a newer epoch starts a new window; an older epoch is refused", () => {
    const replay = windows();
    replay.check("a", 5, 1_000);
    expect(replay.check("a", 6, 0)).toBe("fresh");
    expect(replay.check("a", 5, 1_001)).toBe("tooOld");
  });

  test("senders have separate windows", () => {
    const replay = windows();
    expect(replay.check("a", 1, 1)).toBe("fresh");
    expect(replay.check("b", 1, 1)).toBe("fresh");
  });

  test("beyond maxSenders the least recently heard sender is forgotten", () => {
    const replay = windows(64, 2);
    replay.check("a", 1, 1);
    replay.check("b", 1, 1);
    replay.check("a", 1, 2); // a is now more recent than b
    replay.check("c", 1, 1);
    expect(replay.senderCount).toBe(2);
    expect(replay.check("a", 1, 2)).toBe("duplicate");
    expect(replay.check("b", 1, 1)).toBe("fresh"); // b was forgotten
  });

  test("the window size must be a positive multiple of 32", () => {
    expect(() => windows(48)).toThrow(RangeError);
    expect(() => windows(0)).toThrow(RangeError);
  });
});
