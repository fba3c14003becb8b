/**
 * Gossip streams over TCP: one request frame, one reply frame, then close — the shape of
 * push-pull, fallback probes and reliable user messages. This module moves opaque bytes (the
 * gossip shell seals and opens them); it bounds frame size, connection count and idle time so a
 * peer cannot hold resources, and never throws out of a socket callback.
 */
import type { Socket, TCPSocketListener } from "bun";
import { describeError } from "../common/errors.ts";
import { FrameDecoder, encodeFrame } from "./frame.ts";
import type { HostPort } from "../common/address.ts";

/** Limits shared by both ends of a stream. */
export interface StreamLimits {
  /** Largest frame accepted, in bytes; a bigger declared length closes the stream. */
  maxFrameBytes: number;
  /** A stream with no complete exchange after this long is closed. */
  timeoutMs: number;
}

/** Options of `listenStreams`. */
export interface StreamServerOptions extends StreamLimits {
  /** The TCP address to listen on (the gossip UDP address). */
  local: HostPort;
  /** Most inbound streams served at once; further connections are closed at once. */
  maxConcurrent: number;
  /** Turns a request frame into a reply frame, or undefined to close without replying. */
  handle(request: Uint8Array, from: HostPort): Uint8Array | undefined;
  /** Reports a stream that was refused or failed (never fatal). */
  onStreamError(reason: string, from: HostPort): void;
}

/** A listening stream server. */
export interface StreamServer {
  /** The bound address. */
  readonly local: HostPort;
  /** Stops listening and closes open streams. */
  close(): void;
}

/** Per-connection state: reassembly, the unsent tail of a reply, and the deadline. */
class Connection {
  readonly decoder: FrameDecoder;
  private pending: Uint8Array | undefined;
  private closeWhenFlushed = false;
  done = false;

  constructor(
    private readonly socket: Socket<Connection | undefined>,
    limits: StreamLimits,
  ) {
    this.decoder = new FrameDecoder(limits.maxFrameBytes);
    socket.timeout(Math.max(1, Math.ceil(limits.timeoutMs / 1000)));
  }

  /** Writes `bytes` fully (continuing on drain), then ends the stream if `thenClose`. */
  send(bytes: Uint8Array, thenClose: boolean): void {
    this.closeWhenFlushed = thenClose;
    this.pending = bytes;
    this.flush();
  }

  flush(): void {
    if (this.pending) {
      const written = this.socket.write(this.pending);
      this.pending = written >= this.pending.length ? undefined : this.pending.subarray(Math.max(0, written));
    }
    if (!this.pending && this.closeWhenFlushed) this.socket.end();
  }

  abort(): void {
    this.done = true;
    this.socket.terminate();
  }
}

/** Listens for gossip streams on `options.local` (TCP, same port as UDP gossip). */
export function listenStreams(options: StreamServerOptions): StreamServer {
  let open = 0;
  const peerOf = (socket: Socket<Connection | undefined>): HostPort => ({ host: socket.remoteAddress, port: socket.remotePort ?? 0 });
  const listener: TCPSocketListener<Connection | undefined> = Bun.listen<Connection | undefined>({
    hostname: options.local.host,
    port: options.local.port,
    data: undefined,
    socket: {
      binaryType: "uint8array",
      open(socket) {
        if (open >= options.maxConcurrent) {
          options.onStreamError("too many concurrent streams", peerOf(socket));
          socket.terminate();
          return;
        }
        open++;
        socket.data = new Connection(socket, options);
      },
      data(socket, chunk: Uint8Array) {
        const connection = socket.data;
        if (!connection || connection.done) return;
        try {
          const [request] = connection.decoder.push(chunk);
          if (!request) return;
          connection.done = true;
          const reply = options.handle(request, peerOf(socket));
          if (reply) connection.send(encodeFrame(reply), true);
          else socket.end();
        } catch (error) {
          options.onStreamError(describeError(error), peerOf(socket));
          connection.abort();
        }
      },
      drain(socket) {
        socket.data?.flush();
      },
      timeout(socket) {
        options.onStreamError("stream timed out", peerOf(socket));
        socket.terminate();
      },
      error(socket, error) {
        options.onStreamError(describeError(error), peerOf(socket));
      },
      close(socket) {
        if (socket.data) open--;
        socket.data = undefined;
      },
    },
  });
  return { local: { host: options.local.host, port: listener.port }, close: () => listener.stop(true) };
}

/**
 * Opens a stream to `to`, writes `request` as one frame and resolves with the reply frame, or
 * undefined on refusal, timeout, an oversized or missing reply. Never rejects.
 */
export function requestOverStream(to: HostPort, request: Uint8Array, limits: StreamLimits): Promise<Uint8Array | undefined> {
  return new Promise((resolve) => {
    let settled = false;
    let socket: Socket<Connection | undefined> | undefined;
    const settle = (reply: Uint8Array | undefined) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      socket?.terminate();
      resolve(reply);
    };
    const deadline = setTimeout(() => settle(undefined), limits.timeoutMs);
    Bun.connect<Connection | undefined>({
      hostname: to.host,
      port: to.port,
      data: undefined,
      socket: {
        binaryType: "uint8array",
        open(opened) {
          socket = opened;
          opened.data = new Connection(opened, limits);
          opened.data.send(encodeFrame(request), false);
        },
        data(_socket, chunk: Uint8Array) {
          try {
            const [reply] = socket?.data?.decoder.push(chunk) ?? [];
            if (reply) settle(reply);
          } catch {
            settle(undefined);
          }
        },
        drain(drained) {
          drained.data?.flush();
        },
        connectError: () => settle(undefined),
        error: () => settle(undefined),
        end: () => settle(undefined),
        close: () => settle(undefined),
        timeout: () => settle(undefined),
      },
    }).catch(() => settle(undefined));
  });
}
