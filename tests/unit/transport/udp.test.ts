import { describe, expect, test } from "bun:test";
import { ShoalError } from "../../../core/common/errors.ts";
import { formatHostPort, requireHostPort, type HostPort } from "../../../core/common/address.ts";
import { bindUdp } from "../../../core/transport/udp.ts";
import { waitFor } from "../../../scripts/bench/lib/wait.ts";

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
});

describe("UDP endpoint", () => {
  test("delivers datagrams with their source, and survives a handler that throws", async () => {
    const received: { text: string; from: HostPort }[] = [];
    const errors: unknown[] = [];
    const server = await bindUdp({ host: "127.0.0.1", port: 0 }, (bytes, from) => {
      const text = new TextDecoder().decode(bytes);
      if (text === "boom") throw new Error("handler failed");
      received.push({ text, from });
    }, (error) => errors.push(error));
    const client = await bindUdp({ host: "127.0.0.1", port: 0 }, () => {}, () => {});
    expect(client.send(new TextEncoder().encode("boom"), server.local)).toBe(true);
    expect(client.send(new TextEncoder().encode("hello"), server.local)).toBe(true);
    await waitFor(() => received.length > 0, { timeoutMs: 5_000, intervalMs: 5, what: "a datagram" });
    expect(errors).toHaveLength(1);
    expect(received).toEqual([{ text: "hello", from: client.local }]);
    server.close();
    client.close();
  });
});
