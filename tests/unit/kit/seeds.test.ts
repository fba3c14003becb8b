import { afterEach, describe, expect, spyOn, test } from "bun:test";
import { replayLine, runSeeds, runSeedsAsync, SeedFailure, seedList } from "../../kit/index.ts";

describe("seedList", () => {
  test("defaults to consecutive seeds from firstSeed", () => {
    expect(seedList(3, 10, {})).toEqual([10, 11, 12]);
    expect(seedList(2, undefined, {})).toEqual([1, 2]);
  });

  test("SHOAL_SEEDS overrides the count and SHOAL_SEED picks one seed", () => {
    expect(seedList(3, 1, { SHOAL_SEEDS: "5" })).toEqual([1, 2, 3, 4, 5]);
    expect(seedList(3, 1, { SHOAL_SEEDS: "5", SHOAL_SEED: "42" })).toEqual([42]);
    expect(seedList(3, 1, { SHOAL_SEED: "" })).toEqual([1, 2, 3]);
  });

  test("rejects malformed overrides with the variable's name", () => {
    expect(() => seedList(3, 1, { SHOAL_SEEDS: "many" })).toThrow(/SHOAL_SEEDS must be an integer >= 1, got "many"/);
    expect(() => seedList(3, 1, { SHOAL_SEEDS: "0" })).toThrow(/SHOAL_SEEDS/);
    expect(() => seedList(3, 1, { SHOAL_SEED: "-1" })).toThrow(/SHOAL_SEED must/);
    expect(() => seedList(3, 1, { SHOAL_SEED: "1.5" })).toThrow(/SHOAL_SEED must/);
  });
});

describe("runSeeds", () => {
  const saved = { seeds: process.env.SHOAL_SEEDS, seed: process.env.SHOAL_SEED };
  afterEach(() => {
    process.env.SHOAL_SEEDS = saved.seeds;
    process.env.SHOAL_SEED = saved.seed;
    if (saved.seeds === undefined) delete process.env.SHOAL_SEEDS;
    if (saved.seed === undefined) delete process.env.SHOAL_SEED;
  });

  test("runs every seed and returns the count", () => {
    delete process.env.SHOAL_SEEDS;
    delete process.env.SHOAL_SEED;
    const ran: number[] = [];
    expect(runSeeds({ name: "demo", seeds: 4, firstSeed: 7, run: (seed) => void ran.push(seed) })).toBe(4);
    expect(ran).toEqual([7, 8, 9, 10]);
  });

  test("a failing seed prints the seed and the replay command, then throws SeedFailure", () => {
    delete process.env.SHOAL_SEEDS;
    delete process.env.SHOAL_SEED;
    const printed: string[] = [];
    const spy = spyOn(console, "error").mockImplementation((line: string) => void printed.push(line));
    const ran: number[] = [];
    let caught: unknown;
    try {
      runSeeds({
        name: "demo",
        seeds: 10,
        run: (seed) => {
          ran.push(seed);
          if (seed === 3) throw new Error("invariant broken");
        },
      });
    } catch (error) {
      caught = error;
    } finally {
      spy.mockRestore();
    }
    expect(ran).toEqual([1, 2, 3]);
    expect(caught).toBeInstanceOf(SeedFailure);
    const failure = caught as SeedFailure;
    expect(failure.seed).toBe(3);
    expect((failure.cause as Error).message).toBe("invariant broken");
    expect(printed.join("\n")).toContain("seed 3 failed: invariant broken");
    expect(printed.join("\n")).toContain("replay: npm run sim -- demo --seed 3");
    expect(replayLine("raft", 9)).toBe("replay: npm run sim -- raft --seed 9");
  });

  test("honours SHOAL_SEED for a replay", () => {
    process.env.SHOAL_SEED = "99";
    const ran: number[] = [];
    runSeeds({ name: "demo", seeds: 10, run: (seed) => void ran.push(seed) });
    expect(ran).toEqual([99]);
  });

  test("refuses an async run in the sync runner", () => {
    delete process.env.SHOAL_SEED;
    expect(() => runSeeds({ name: "demo", seeds: 1, run: (async () => {}) as unknown as () => void })).toThrow(/runSeedsAsync/);
  });

  test("runSeedsAsync awaits each seed and reports failures", async () => {
    delete process.env.SHOAL_SEED;
    const spy = spyOn(console, "error").mockImplementation(() => {});
    try {
      const ran: number[] = [];
      await expect(
        runSeedsAsync({
          name: "demo",
          seeds: 3,
          run: async (seed) => {
            ran.push(seed);
            if (seed === 2) throw new Error("late failure");
          },
        }),
      ).rejects.toThrow(/seed 2 failed: late failure/);
      expect(ran).toEqual([1, 2]);
    } finally {
      spy.mockRestore();
    }
  });
});
