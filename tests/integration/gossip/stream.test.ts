import { afterEach, describe, expect, test } from "bun:test";
import { listenStreams, requestOverStream, type StreamServer } from "../../../core/transport/gossip-stream.ts";
import { encodeFrame } from "../../../core/transport/frame.ts";
import { waitFor } from "../../../scripts/bench/lib/wait.ts";

const limits = { maxFrameBytes: 8 * 1024 * 1024, timeoutMs: 3_000 };
const servers: StreamServer[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) server.close();
});

function serve(handle: (request: Uint8Array) => Uint8Array | undefined, overrides: { maxConcurrent?: number } = {}) {
  const errors: string[] = [];
  const server = listenStreams({
    ...limits,
    local: { host: "127.0.0.1", port: 0 },
    maxConcurrent: overrides.maxConcurrent ?? 8,
    handle,
    onStreamError: (reason) => errors.push(reason),
  });
  servers.push(server);
  return { server, errors };
}

describe("gossip streams", () => {
  test("a request gets its reply, including frames far bigger than a socket buffer", async () => {
    const { server } = serve((request) => Uint8Array.from(request).reverse());
    const big = Uint8Array.from({ length: 3 * 1024 * 1024 }, (_, i) => i % 251);
    const reply = await requestOverStream(server.local, big, limits);
    expect(reply?.length).toBe(big.length);
    expect(reply?.[0]).toBe(big[big.length - 1]);
    expect(await requestOverStream(server.local, Uint8Array.of(1, 2), limits)).toEqual(Uint8Array.of(2, 1));
  });

  test("a handler with nothing to say closes the stream and the client gets undefined", async () => {
    const { server } = serve(() => undefined);
    expect(await requestOverStream(server.local, Uint8Array.of(1), limits)).toBeUndefined();
  });

  test("a frame declaring more than the limit is refused and the server keeps serving", async () => {
    const { server, errors } = serve((request) => request);
    const socket = await Bun.connect({ hostname: "127.0.0.1", port: server.local.port, socket: { data() {} } });
    socket.write(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0));
    await waitFor(() => errors.length > 0, { timeoutMs: 3_000, what: "the oversized frame to be refused" });
    expect(errors[0]).toContain("exceeds");
    expect(await requestOverStream(server.local, Uint8Array.of(7), limits)).toEqual(Uint8Array.of(7));
  });

  test("a handler that throws is contained: the stream closes, the server lives", async () => {
    const { server, errors } = serve((request) => {
      if (request[0] === 0) throw new Error("boom");
      return request;
    });
    expect(await requestOverStream(server.local, Uint8Array.of(0), limits)).toBeUndefined();
    expect(errors).toContain("boom");
    expect(await requestOverStream(server.local, Uint8Array.of(3), limits)).toEqual(Uint8Array.of(3));
  });

  test("connections beyond the concurrency cap are refused", async () => {
    const { server, errors } = serve((request) => request, { maxConcurrent: 1 });
    const idle = await Bun.connect({ hostname: "127.0.0.1", port: server.local.port, socket: { data() {} } });
    idle.write(encodeFrame(Uint8Array.of(1)).subarray(0, 2));
    const deadline = Date.now() + 3_000;
    let reply: Uint8Array | undefined = Uint8Array.of();
    while (Date.now() < deadline) {
      reply = await requestOverStream(server.local, Uint8Array.of(9), limits);
      if (errors.includes("too many concurrent streams")) break;
    }
    expect(reply).toBeUndefined();
    idle.end();
  });

  test("nobody listening resolves to undefined, never rejects", async () => {
    const { server } = serve((request) => request);
    const port = server.local.port;
    server.close();
    expect(await requestOverStream({ host: "127.0.0.1", port }, Uint8Array.of(1), limits)).toBeUndefined();
  });
});
