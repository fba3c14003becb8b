/**
 * A secure connection over any reliable byte stream: length-prefixed frames (the shared
 * `transport/frame.ts`), the handshake state machine until it finishes, then sealed frames.
 *
 * The driver is fed stream chunks and never throws back into the stream's read path: a
 * rejection (bad handshake, bad frame, oversized frame, handshake timeout) is counted, logged and
 * closes this one connection; nothing else is affected. The runtime's sockets live in `socket.ts`.
 */
import { DecodeError, describeError, ShoalError } from "../../common/errors.ts";
import type { Logger } from "../../common/log.ts";
import { encodeFrame, FRAME_HEADER_BYTES, FrameDecoder } from "../../transport/frame.ts";
import type { ChannelConfig } from "./config.ts";
import type { Established, Handshake, Peer } from "./handshake.ts";
import type { ChannelMetrics, ChannelSide } from "./metrics.ts";
import { ChannelRejectedError, type Rejection } from "./rejection.ts";
import { FRAME_OVERHEAD, type ChannelSession } from "./session.ts";

/** The byte stream beneath a secure connection: a TCP socket in production, a pipe in tests. */
export interface ByteStream {
  /** Writes bytes after everything written before. */
  write(bytes: Uint8Array): void;
  /** Closes the stream; the driver writes nothing afterwards. */
  close(): void;
  /** Bytes written but not yet taken by the network. */
  readonly bufferedBytes: number;
}

/** An established, authenticated connection. */
export interface SecureConnection {
  /** Who is at the other end; a `joining` peer may only run the join exchange. */
  readonly peer: Peer;
  /** The cluster both ends are in. */
  readonly clusterId: string;
  /** The cluster root public key (checked against the pin by an initiator). */
  readonly rootPublicKey: Uint8Array;
  /** Unique to this session: lets the application bind a proof (a join secret) to it. */
  readonly handshakeHash: Uint8Array;
  /** The peer's network address, for logs. */
  readonly remoteAddress: string;
  /** True once closed, by either side or on a rejection. */
  readonly closed: boolean;
  /** Bytes sent but not yet taken by the network: a sender can shed load when its peer falls behind. */
  readonly bufferedBytes: number;
  /**
   * Seals and sends one message. Returns false when the connection is already closed (a race
   * with the peer closing is normal); throws `RangeError` when `payload` exceeds `maxFrameBytes`.
   */
  send(payload: Uint8Array): boolean;
  /** Sets the handler of incoming messages; messages that arrived before it was set are delivered to it first. */
  onMessage(handler: (payload: Uint8Array) => void): void;
  /**
   * Sets the handler called once on close: with the rejection that caused it (`fromPeer` when
   * the peer refused and said why), or undefined for an orderly close.
   */
  onClose(handler: (rejection: Rejection | undefined) => void): void;
  /** Closes the connection; idempotent. */
  close(): void;
}

/** What a `ChannelDriver` needs. */
export interface ChannelDriverOptions {
  side: ChannelSide;
  handshake: Handshake;
  /** The initiator's first message, sent at once; absent for a responder. */
  hello?: Uint8Array;
  stream: ByteStream;
  remoteAddress: string;
  config: ChannelConfig;
  metrics: ChannelMetrics;
  logger: Logger;
  /** Clock for certificate validity, in ms since the epoch. */
  now: () => number;
  /** Called once when the handshake completes. */
  onEstablished: (connection: SecureConnection) => void;
  /** Called once when the handshake does not complete: a `ChannelRejectedError`, or the stream closed early. */
  onHandshakeFailed: (error: ShoalError) => void;
}

type DriverState =
  | { phase: "handshaking"; timer: ReturnType<typeof setTimeout> }
  | { phase: "open"; connection: Connection }
  | { phase: "closed" };

/** Drives one stream from the first byte through the handshake to close. */
export class ChannelDriver {
  private readonly decoder: FrameDecoder;
  private state: DriverState;

  constructor(private readonly options: ChannelDriverOptions) {
    this.decoder = new FrameDecoder(Math.max(options.config.maxFrameBytes + FRAME_OVERHEAD, options.config.maxHandshakeMessageBytes));
    const timer = setTimeout(() => this.reject({ reason: "timeout", message: `handshake not finished within ${options.config.handshakeTimeoutMs} ms` }), options.config.handshakeTimeoutMs);
    this.state = { phase: "handshaking", timer };
    options.metrics.onHandshakeStarted();
    if (options.hello) options.stream.write(encodeFrame(options.hello));
  }

  /** Feeds bytes read from the stream. Never throws. */
  receive(chunk: Uint8Array): void {
    try {
      this.process(chunk);
    } catch (error) {
      // Only a bug gets here: drop the connection rather than the process.
      this.options.logger.error("secure channel failed unexpectedly; closing the connection", { remote: this.options.remoteAddress, error: describeError(error) });
      this.shutDown(undefined, new ShoalError("secure_channel_internal", `secure channel failed: ${describeError(error)}`));
    }
  }

  /** The stream closed (by the peer, or after an error). */
  streamClosed(): void {
    this.shutDown(undefined, new ShoalError("secure_channel_closed", "the peer closed the connection during the handshake", { remote: this.options.remoteAddress }));
  }

  /** Seals and writes one message (used by `Connection`). */
  send(session: ChannelSession, payload: Uint8Array): boolean {
    if (this.state.phase !== "open") return false;
    if (payload.length > this.options.config.maxFrameBytes) throw new RangeError(`message of ${payload.length} bytes exceeds the ${this.options.config.maxFrameBytes}-byte frame limit`);
    this.options.stream.write(encodeFrame(session.seal(payload)));
    return true;
  }

  /** Closes the connection in good order (used by `Connection`). */
  close(): void {
    this.shutDown(undefined, new ShoalError("secure_channel_closed", "the connection was closed locally during the handshake"));
  }

  private process(chunk: Uint8Array): void {
    if (this.state.phase === "closed") return;
    let frames: Uint8Array[];
    try {
      frames = this.decoder.push(chunk);
    } catch (error) {
      if (!(error instanceof DecodeError)) throw error;
      this.reject({ reason: "oversized", message: error.message });
      return;
    }
    for (const frame of frames) {
      const state = this.state;
      if (state.phase === "handshaking") this.onHandshakeMessage(frame);
      else if (state.phase === "open") this.onFrame(state.connection, frame);
      else return;
    }
    if (this.state.phase === "handshaking" && this.decoder.pendingBytes > FRAME_HEADER_BYTES + this.options.config.maxHandshakeMessageBytes) {
      this.reject({ reason: "oversized", message: `handshake message exceeds ${this.options.config.maxHandshakeMessageBytes} bytes` });
    }
  }

  private onHandshakeMessage(message: Uint8Array): void {
    if (message.length > this.options.config.maxHandshakeMessageBytes) {
      this.reject({ reason: "oversized", message: `handshake message of ${message.length} bytes exceeds ${this.options.config.maxHandshakeMessageBytes}` });
      return;
    }
    const step = this.options.handshake.receive(message, this.options.now());
    if (step.kind === "rejected") {
      if (step.notice) this.options.stream.write(encodeFrame(step.notice));
      this.reject(step.rejection);
      return;
    }
    if (step.message) this.options.stream.write(encodeFrame(step.message));
    if (step.kind === "established") this.establish(step.channel);
  }

  private establish(channel: Established): void {
    if (this.state.phase === "handshaking") clearTimeout(this.state.timer);
    const connection = new Connection(this, channel, this.options.remoteAddress, this.options.stream, this.options.logger);
    this.state = { phase: "open", connection };
    this.options.metrics.onEstablished(this.options.side);
    const peerId = channel.peer.kind === "member" ? channel.peer.certificate.nodeId : "(joining)";
    this.options.logger.debug("secure channel established", { side: this.options.side, remote: this.options.remoteAddress, peer: peerId });
    this.options.onEstablished(connection);
  }

  private onFrame(connection: Connection, frame: Uint8Array): void {
    const result = connection.session.open(frame);
    if (result.kind === "message") {
      connection.deliver(result.payload);
    } else if (result.kind === "notice") {
      this.options.metrics.onRefusedByPeer(result.rejection.reason);
      this.options.logger.warn("the peer refused the secure channel", { ...this.describe(), reason: result.rejection.reason, detail: result.rejection.message });
      this.shutDown({ ...result.rejection, fromPeer: true }, new ChannelRejectedError(result.rejection));
    } else {
      this.reject(result.rejection);
    }
  }

  /** Counts and logs a refusal, tells an established peer why, and closes. */
  private reject(rejection: Rejection): void {
    const state = this.state;
    if (state.phase === "closed") return;
    this.options.metrics.onRejected(rejection.reason);
    this.options.logger.warn("secure channel rejected; closing the connection", { ...this.describe(), reason: rejection.reason, detail: rejection.message });
    if (state.phase === "open") this.options.stream.write(encodeFrame(state.connection.session.sealNotice(rejection)));
    this.shutDown(rejection, new ChannelRejectedError(rejection, { remote: this.options.remoteAddress }));
  }

  /** Log fields naming this connection. */
  private describe(): Record<string, unknown> {
    const peer = this.state.phase === "open" && this.state.connection.peer.kind === "member" ? this.state.connection.peer.certificate.nodeId : undefined;
    return { side: this.options.side, remote: this.options.remoteAddress, peer };
  }

  /** Closes the stream once and tells whoever is waiting: the dialler during the handshake, the application after. */
  private shutDown(rejection: Rejection | undefined, handshakeError: ShoalError): void {
    const state = this.state;
    if (state.phase === "closed") return;
    this.state = { phase: "closed" };
    this.options.stream.close();
    if (state.phase === "handshaking") {
      clearTimeout(state.timer);
      this.options.metrics.onHandshakeFailed();
      this.options.onHandshakeFailed(handshakeError);
    } else {
      state.connection.session.close();
      this.options.metrics.onClosed();
      state.connection.closedWith(rejection);
    }
  }
}

/** The application's view of an open channel. */
class Connection implements SecureConnection {
  readonly peer: Peer;
  readonly clusterId: string;
  readonly rootPublicKey: Uint8Array;
  readonly handshakeHash: Uint8Array;
  readonly session: ChannelSession;
  private messageHandler: ((payload: Uint8Array) => void) | undefined;
  private closeHandler: ((rejection: Rejection | undefined) => void) | undefined;
  private readonly undelivered: Uint8Array[] = [];
  private closedBy: { rejection: Rejection | undefined } | undefined;

  constructor(
    private readonly driver: ChannelDriver,
    channel: Established,
    readonly remoteAddress: string,
    private readonly stream: ByteStream,
    private readonly logger: Logger,
  ) {
    this.peer = channel.peer;
    this.clusterId = channel.clusterId;
    this.rootPublicKey = channel.rootPublicKey;
    this.handshakeHash = channel.handshakeHash;
    this.session = channel.session;
  }

  get closed(): boolean {
    return this.closedBy !== undefined;
  }

  get bufferedBytes(): number {
    return this.stream.bufferedBytes;
  }

  send(payload: Uint8Array): boolean {
    return this.driver.send(this.session, payload);
  }

  onMessage(handler: (payload: Uint8Array) => void): void {
    this.messageHandler = handler;
    for (const payload of this.undelivered.splice(0)) guarded(() => handler(payload), "message handler", this.logger);
  }

  onClose(handler: (rejection: Rejection | undefined) => void): void {
    this.closeHandler = handler;
    const closedBy = this.closedBy;
    if (closedBy) queueMicrotask(() => handler(closedBy.rejection));
  }

  close(): void {
    this.driver.close();
  }

  /** Hands a payload to the application; a throwing handler is logged, not propagated into the socket. */
  deliver(payload: Uint8Array): void {
    const handler = this.messageHandler;
    if (handler === undefined) this.undelivered.push(payload);
    else guarded(() => handler(payload), "message handler", this.logger);
  }

  /** Records the close and tells the application. */
  closedWith(rejection: Rejection | undefined): void {
    this.closedBy = { rejection };
    guarded(() => this.closeHandler?.(rejection), "close handler", this.logger);
  }
}

function guarded(run: () => void, what: string, logger: Logger): void {
  try {
    run();
  } catch (error) {
    logger.error(`secure channel ${what} threw`, { error: describeError(error) });
  }
}
