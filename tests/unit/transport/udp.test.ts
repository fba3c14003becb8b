import { describe, expect, test } from "bun:test";
import type { HostPort } from "../../../core/common/address.ts";
import { bindUdp } from "../../../core/transport/udp.ts";
import { waitFor } from "../../../scripts/bench/lib/wait.ts";

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
