/**
 * Secure connections over Bun TCP sockets: `dialSecure` for the initiating side,
 * `listenSecure` for the accepting side. Each socket gets its own `ChannelDriver`; a peer that
 * fails the handshake or sends a bad frame loses its connection and nothing else. Writes the
 * kernel does not take at once are queued and flushed on `drain`, in order.
 */
import type { Socket } from "bun";
import nacl from "tweetnacl";
import type { MetricsRegistry } from "../../api/metrics.ts";
import { describeError, ShoalError } from "../../common/errors.ts";
import { nullLogger, type Logger } from "../../common/log.ts";
import { channelConfig, type ChannelConfig } from "./config.ts";
import { ChannelDriver, type ByteStream, type SecureConnection } from "./connection.ts";
import { InitiatorHandshake, ResponderHandshake, type InitiatorOptions, type ResponderOptions } from "./handshake.ts";
import { ChannelMetrics, type ChannelSide } from "./metrics.ts";

/** What every secure socket takes besides its address and credentials. */
export interface SecureSocketEnvironment {
  /** Overrides of the `ChannelConfig` defaults. */
  config?: Partial<ChannelConfig>;
  /** The agent's registry; the channel registers its counters on it. */
  metrics: MetricsRegistry;
  /** Defaults to `nullLogger`. */
  logger?: Logger;
  /** Clock for certificate validity; defaults to `Date.now`. */
  now?: () => number;
  /** Source of ephemeral keys; defaults to `nacl.randomBytes`. */
  randomBytes?: (length: number) => Uint8Array;
  /** The revoked certificate serials, read at each handshake; defaults to none. */
  revoked?: () => ReadonlySet<string>;
}

/** Options of `dialSecure`. */
export interface DialSecureOptions extends SecureSocketEnvironment {
  host: string;
  port: number;
  /** This node's side of the handshake (see `InitiatorOptions`). */
  credentials: Omit<InitiatorOptions, "randomBytes" | "revoked">;
}

/** Options of `listenSecure`. */
export interface ListenSecureOptions extends SecureSocketEnvironment {
  /** Address to bind; `0` as `port` picks a free one (see `SecureListener.port`). */
  host: string;
  port: number;
  credentials: Omit<ResponderOptions, "randomBytes" | "revoked">;
  /** Called with each connection whose handshake completed; set its handlers synchronously. */
  onConnection: (connection: SecureConnection) => void;
}

/** A listening secure socket. */
export interface SecureListener {
  readonly host: string;
  readonly port: number;
  /** Stops accepting and closes every connection, established or not. */
  close(): void;
}

interface SocketSlot {
  stream?: SocketStream;
  driver?: ChannelDriver;
}

const NO_REVOCATIONS: ReadonlySet<string> = new Set();

/** Connects and runs the handshake; resolves with the established connection or rejects with a `ShoalError` (a `ChannelRejectedError` when refused). */
export function dialSecure(options: DialSecureOptions): Promise<SecureConnection> {
  const shared = environment(options);
  const remoteAddress = `${options.host}:${options.port}`;
  return new Promise((resolve, reject) => {
    const handshake = new InitiatorHandshake({ ...options.credentials, randomBytes: shared.randomBytes, revoked: shared.revoked() });
    let abandoned = false;
    const connectTimer = setTimeout(() => {
      abandoned = true;
      reject(new ShoalError("secure_channel_unreachable", `no connection to ${remoteAddress} within ${shared.config.handshakeTimeoutMs} ms`, { remote: remoteAddress }));
    }, shared.config.handshakeTimeoutMs);
    Bun.connect<SocketSlot>({
      hostname: options.host,
      port: options.port,
      data: {},
      socket: {
        ...socketEvents(shared.logger),
        open(socket) {
          clearTimeout(connectTimer);
          if (abandoned) {
            socket.end();
            return;
          }
          const stream = new SocketStream(socket);
          socket.data = { stream };
          socket.data.driver = driverFor("initiator", shared, stream, remoteAddress, handshake, resolve, reject, handshake.start());
        },
        connectError(_socket, error) {
          clearTimeout(connectTimer);
          reject(new ShoalError("secure_channel_unreachable", `cannot connect to ${remoteAddress}: ${error.message}`, { remote: remoteAddress }));
        },
      },
    }).catch(() => {
      // Reported through connectError above.
    });
  });
}

/** Listens for secure connections. Throws when the address cannot be bound. */
export function listenSecure(options: ListenSecureOptions): SecureListener {
  const shared = environment(options);
  const drivers = new Set<ChannelDriver>();
  let pendingHandshakes = 0;
  const listener = Bun.listen<SocketSlot>({
    hostname: options.host,
    port: options.port,
    data: {},
    socket: {
      ...socketEvents(shared.logger),
      open(socket) {
        const remoteAddress = `${socket.remoteAddress}:${socket.remotePort}`;
        if (pendingHandshakes >= shared.config.maxPendingHandshakes) {
          shared.metrics.onRejected("overloaded");
          shared.logger.warn("too many secure channel handshakes in progress; dropping a connection", { remote: remoteAddress, limit: shared.config.maxPendingHandshakes });
          socket.terminate();
          return;
        }
        pendingHandshakes++;
        const stream = new SocketStream(socket);
        const handshake = new ResponderHandshake({ ...options.credentials, randomBytes: shared.randomBytes, revoked: shared.revoked() });
        const established = (connection: SecureConnection) => {
          pendingHandshakes--;
          options.onConnection(connection);
        };
        const failed = (error: ShoalError) => {
          pendingHandshakes--;
          shared.logger.debug("inbound secure channel not established", { remote: remoteAddress, error: error.message });
        };
        const driver = driverFor("responder", shared, stream, remoteAddress, handshake, established, failed);
        socket.data = { stream, driver };
        drivers.add(driver);
      },
      close(socket) {
        const { driver } = socket.data;
        if (driver) {
          drivers.delete(driver);
          driver.streamClosed();
        }
      },
    },
  });
  return {
    host: options.host,
    port: listener.port,
    close() {
      for (const driver of drivers) driver.close();
      listener.stop(true);
    },
  };
}

interface Environment {
  config: ChannelConfig;
  metrics: ChannelMetrics;
  logger: Logger;
  now: () => number;
  randomBytes: (length: number) => Uint8Array;
  revoked: () => ReadonlySet<string>;
}

function environment(options: SecureSocketEnvironment): Environment {
  return {
    config: channelConfig(options.config),
    metrics: new ChannelMetrics(options.metrics),
    logger: (options.logger ?? nullLogger).child({ subsystem: "secure-channel" }),
    now: options.now ?? Date.now,
    randomBytes: options.randomBytes ?? nacl.randomBytes,
    revoked: options.revoked ?? (() => NO_REVOCATIONS),
  };
}

function driverFor(
  side: ChannelSide,
  shared: Environment,
  stream: SocketStream,
  remoteAddress: string,
  handshake: InitiatorHandshake | ResponderHandshake,
  onEstablished: (connection: SecureConnection) => void,
  onHandshakeFailed: (error: ShoalError) => void,
  hello?: Uint8Array,
): ChannelDriver {
  const { config, metrics, logger, now } = shared;
  return new ChannelDriver({ side, handshake, hello, stream, remoteAddress, config, metrics, logger, now, onEstablished, onHandshakeFailed });
}

/** The socket events both sides handle alike. */
function socketEvents(logger: Logger) {
  return {
    data(socket: Socket<SocketSlot>, chunk: Uint8Array) {
      socket.data.driver?.receive(chunk);
    },
    drain(socket: Socket<SocketSlot>) {
      socket.data.stream?.flush();
    },
    close(socket: Socket<SocketSlot>) {
      socket.data.driver?.streamClosed();
    },
    error(socket: Socket<SocketSlot>, error: Error) {
      logger.debug("secure channel socket error", { remote: socket.remoteAddress, error: describeError(error) });
    },
  };
}

/** A Bun socket as a `ByteStream`, queueing what the kernel does not take at once. */
class SocketStream implements ByteStream {
  private readonly queued: Uint8Array[] = [];
  private queuedBytes = 0;
  private ending = false;

  constructor(private readonly socket: Socket<SocketSlot>) {}

  get bufferedBytes(): number {
    return this.queuedBytes;
  }

  write(bytes: Uint8Array): void {
    if (this.ending) return;
    this.queued.push(bytes);
    this.queuedBytes += bytes.length;
    if (this.queued.length === 1) this.flush();
  }

  close(): void {
    this.ending = true;
    if (this.queued.length === 0) this.socket.end();
  }

  /** Writes queued bytes until the kernel refuses more; ends the socket once drained if closing. */
  flush(): void {
    while (this.queued.length > 0) {
      const next = this.queued[0] as Uint8Array;
      const written = Math.max(this.socket.write(next), 0);
      this.queuedBytes -= written;
      if (written < next.length) {
        this.queued[0] = next.subarray(written);
        return;
      }
      this.queued.shift();
    }
    if (this.ending) this.socket.end();
  }
}
