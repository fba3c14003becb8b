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
      let thrown: unknown;
      try {
        record(value, "snapshot meta");
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(DecodeError);
      expect((thrown as DecodeError).message).toContain("snapshot meta must be a map");
    });
  }
});
