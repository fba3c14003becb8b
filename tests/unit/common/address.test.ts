import { describe, expect, test } from "bun:test";
import { formatHostPort, isDialable, requireHostPort } from "../../../core/common/address.ts";
import { ShoalError } from "../../../core/common/errors.ts";

describe("host:port addresses", () => {
  test("IPv4, names and bracketed IPv6 split and join back", () => {
    for (const [text, parts] of [
      ["127.0.0.2:7371", { host: "127.0.0.2", port: 7371 }],
      ["node-1.example:0", { host: "node-1.example", port: 0 }],
      ["[::1]:65535", { host: "::1", port: 65_535 }],
    ] as const) {
      expect(requireHostPort(text)).toEqual(parts);
      expect(formatHostPort(parts)).toBe(text);
    }
  });

  test("anything else is refused with a clear error", () => {
    for (const bad of ["", "127.0.0.1", ":7371", "127.0.0.1:", "127.0.0.1:65536", "::1:7371", "[::1]7371", "host:12a"]) {
      expect(() => requireHostPort(bad)).toThrow(ShoalError);
    }
  });

  test("only an address with a concrete host and port is dialable", () => {
    const dialable = (text: string) => isDialable(requireHostPort(text));
    expect(["10.0.0.5:7370", "[fe80::1]:7370", "node-1:7370"].map(dialable)).toEqual([true, true, true]);
    expect(["0.0.0.0:7370", "[::]:7370", "10.0.0.5:0"].map(dialable)).toEqual([false, false, false]);
  });
});
