import { describe, expect, test } from "bun:test";
import { StringPool } from "../../../core/gossip/intern.ts";

describe("StringPool", () => {
  test("hands back an equal string and pools each distinct string once", () => {
    const pool = new StringPool(10);
    expect(pool.intern("node-1")).toBe("node-1");
    expect(pool.intern(["node", "1"].join("-"))).toBe("node-1");
    pool.intern("node-2");
    expect(pool.size).toBe(2);
  });

  test("starts over instead of growing past its capacity", () => {
    const pool = new StringPool(3);
    for (let i = 0; i < 10; i++) pool.intern(`node-${i}`);
    expect(pool.size).toBeLessThanOrEqual(3);
    expect(pool.intern("node-9")).toBe("node-9");
  });
});
