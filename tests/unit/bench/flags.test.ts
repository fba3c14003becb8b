import { expect, test } from "bun:test";
import { integerFlag, integerListFlag } from "../../../scripts/bench/lib/flags.ts";

test("numeric bench flags: defaults when absent, values when valid, a named error otherwise", () => {
  expect([integerFlag("runs", undefined, 10), integerFlag("runs", "3", 10), integerFlag("warmup", "0", 5, 0)]).toEqual([10, 3, 0]);
  for (const bad of ["", "x", "1.5", "0", "-2", "1e400"]) expect(() => integerFlag("runs", bad, 10)).toThrow(`--runs must be an integer >= 1, got "${bad}"`);
  expect(integerListFlag("clients", undefined, [1, 16])).toEqual([1, 16]);
  expect(integerListFlag("clients", "1,64", [1, 16])).toEqual([1, 64]);
  expect(() => integerListFlag("clients", "1,,64", [1])).toThrow('--clients must be an integer >= 1, got ""');
  expect(() => integerListFlag("nodes", "100,abc", [100], 2)).toThrow('--nodes must be an integer >= 2, got "abc"');
});
