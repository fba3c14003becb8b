import { describe, expect, test } from "bun:test";
import { record } from "../../../core/common/record.ts";
import { DecodeError } from "../../../core/common/errors.ts";

describe("record", () => {
  test("returns a map as it is", () => {
    const map = { term: 1 };
    expect(record(map, "body")).toBe(map);
  });

  for (const [name, value] of [["an array", [1, 2]], ["bytes", new Uint8Array(2)], ["null", null], ["a string", "map"], ["a number", 7]] as const) {
    test(`refuses ${name} with a DecodeError naming the field`, () => {
      expect(() => record(value, "snapshot meta")).toThrow(DecodeError);
      expect(() => record(value, "snapshot meta")).toThrow("snapshot meta must be a map");
    });
  }
});
