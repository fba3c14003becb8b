import { describe, expect, test } from "bun:test";
import { MetricsRegistry } from "../../../core/api/metrics.ts";
import { ShoalError } from "../../../core/common/errors.ts";
import { nullLogger } from "../../../core/common/log.ts";
import { channelConfig } from "../../../core/secure/channel/config.ts";
import { ChannelDriver, type ByteStream, type SecureConnection } from "../../../core/secure/channel/connection.ts";
import { InitiatorHandshake, ResponderHandshake } from "../../../core/secure/channel/handshake.ts";
import { ChannelMetrics } from "../../../core/secure/channel/metrics.ts";
import { ChannelRejectedError, type Rejection } from "../../../core/secure/channel/rejection.ts";
import { NOW, seededBytes, testCluster } from "./channel-fixture.ts";

const cluster = testCluster(31);
const manager = cluster.node("manager-1");
const worker = cluster.node("worker-1", {}, "worker");
const text = (value: string) => new TextEncoder().encode(value);

/** One end of an in-memory stream: what it wrote waits in `outbox` until the test delivers it. */
class Endpoint implements ByteStream {
  readonly outbox: Uint8Array[] = [];
  readonly bufferedBytes = 0;
  closed = false;
  driver!: ChannelDriver;
  connection: SecureConnection | undefined;
  failure: ShoalError | undefined;
  received: string[] = [];
  closedWith: Array<Rejection | undefined> = [];

  /** @param handlers whether to set message and close handlers as soon as the connection opens. */
  constructor(private readonly handlers: boolean) {}

  write(bytes: Uint8Array): void {
    if (!this.closed) this.outbox.push(bytes);
  }

  close(): void {
    this.closed = true;
  }

  accept(connection: SecureConnection): void {
    this.connection = connection;
    if (!this.handlers) return;
    connection.onMessage((payload) => this.received.push(new TextDecoder().decode(payload)));
    connection.onClose((rejection) => this.closedWith.push(rejection));
  }
}

/** Two drivers joined by in-memory streams, with a registry to read the counters from. */
function link(options: { configOverrides?: Parameters<typeof channelConfig>[0]; initiatorIdentity?: typeof worker | undefined; admitJoiners?: boolean; handlers?: boolean } = {}) {
  const registry = new MetricsRegistry();
  const metrics = new ChannelMetrics(registry);
  const config = channelConfig({ handshakeTimeoutMs: 60_000, ...options.configOverrides });
  const initiator = new Endpoint(options.handlers ?? true);
  const responder = new Endpoint(options.handlers ?? true);
  const common = { config, metrics, logger: nullLogger, now: () => NOW, remoteAddress: "test" };
  responder.driver = new ChannelDriver({
    ...common,
    side: "responder",
    stream: responder,
    handshake: new ResponderHandshake({ clusterId: cluster.clusterId, rootPublicKey: cluster.rootPublicKey, identity: manager, admitJoiners: options.admitJoiners ?? true, randomBytes: seededBytes(1) }),
    onEstablished: (connection) => responder.accept(connection),
    onHandshakeFailed: (error) => (responder.failure = error),
  });
  const identity = "initiatorIdentity" in options ? options.initiatorIdentity : worker;
  const handshake = new InitiatorHandshake({ clusterId: identity && cluster.clusterId, rootPin: cluster.rootPin, identity, randomBytes: seededBytes(2) });
  initiator.driver = new ChannelDriver({
    ...common,
    side: "initiator",
    stream: initiator,
    handshake,
    hello: handshake.start(),
    onEstablished: (connection) => initiator.accept(connection),
    onHandshakeFailed: (error) => (initiator.failure = error),
  });
  /** Delivers queued bytes both ways until quiet, then propagates closes; `alter` may rewrite the initiator's chunks. */
  const pump = (alter: (chunks: Uint8Array[]) => Uint8Array[] = (chunks) => chunks) => {
    for (let moved = true; moved;) {
      moved = false;
      for (const [from, to, rewrite] of [[initiator, responder, alter], [responder, initiator, (c: Uint8Array[]) => c]] as const) {
        const chunks = from.outbox.splice(0);
        if (chunks.length === 0) continue;
        moved = true;
        for (const chunk of rewrite(chunks)) to.driver.receive(chunk);
      }
    }
    if (initiator.closed) responder.driver.streamClosed();
    if (responder.closed) initiator.driver.streamClosed();
  };
  const rejected = (reason: string) => Number(registry.render().match(new RegExp(`shoal_secure_channel_rejected_total\\{reason="${reason}"\\} (\\d+)`))?.[1]);
  return { registry, initiator, responder, pump, rejected };
}

/** An established link, ready for frame tests. */
function established() {
  const wired = link();
  wired.pump();
  if (!wired.initiator.connection || !wired.responder.connection) throw new Error("handshake did not complete");
  return { ...wired, client: wired.initiator.connection, server: wired.responder.connection };
}

describe("secure connection driver", () => {
  test("a handshake over a stream yields two connected ends; messages flow and the counters move", () => {
    const { client, server, initiator, responder, pump, registry } = established();
    expect(server.peer).toEqual({ kind: "member", certificate: worker.fields });
    expect(client.peer).toEqual({ kind: "member", certificate: manager.fields });
    client.send(text("hello"));
    server.send(text("welcome"));
    client.send(text("bye"));
    pump();
    expect(responder.received).toEqual(["hello", "bye"]);
    expect(initiator.received).toEqual(["welcome"]);
    expect(registry.render()).toContain('shoal_secure_channel_established_total{side="initiator"} 1');
    expect(registry.render()).toContain("shoal_secure_channel_open_connections 2");
    expect(registry.render()).toContain("shoal_secure_channel_pending_handshakes 0");
    client.close();
    pump();
    expect(initiator.closedWith).toEqual([undefined]);
    expect(responder.closedWith).toEqual([undefined]);
    expect(client.send(text("late"))).toBe(false);
    expect(registry.render()).toContain("shoal_secure_channel_open_connections 0");
  });

  test("every rejection reason starts at zero on /metrics", () => {
    const { registry } = link();
    for (const reason of ["tampered", "replayed", "reordered", "wrongCluster", "rootPinMismatch", "expired", "revoked", "timeout", "oversized"]) {
      expect(registry.render()).toContain(`shoal_secure_channel_rejected_total{reason="${reason}"} 0`);
    }
  });

  for (const [name, alter] of [
    ["tampered", (chunks: Uint8Array[]) => chunks.map(flipLastBit)],
    ["replayed", (chunks: Uint8Array[]) => [...chunks, ...chunks]],
    ["reordered", (chunks: Uint8Array[]) => [...chunks].reverse()],
  ] as const) {
    test(`a ${name} frame is rejected as ${name}, counted, and closes both ends`, () => {
      const { client, responder, initiator, pump, rejected, registry } = established();
      client.send(text("one"));
      client.send(text("two"));
      pump(alter);
      expect(responder.closedWith).toEqual([expect.objectContaining({ reason: name })]);
      expect(rejected(name)).toBe(1);
      expect(responder.closed).toBe(true);
      expect(initiator.closedWith).toEqual([expect.objectContaining({ reason: name, fromPeer: true })]);
      expect(client.closed).toBe(true);
      expect(registry.render()).toContain(`shoal_secure_channel_refused_by_peer_total{reason="${name}"} 1`);
    });
  }

  test("a frame announcing more than maxFrameBytes is rejected as oversized before it is buffered", () => {
    const { responder, rejected, server } = established();
    const header = new Uint8Array(4);
    new DataView(header.buffer).setUint32(0, 0x7fff_ffff);
    responder.driver.receive(header);
    expect(rejected("oversized")).toBe(1);
    expect(server.closed).toBe(true);
  });

  test("send refuses a payload over maxFrameBytes", () => {
    const wired = link({ configOverrides: { maxFrameBytes: 16 } });
    wired.pump();
    expect(() => wired.initiator.connection?.send(new Uint8Array(17))).toThrow(RangeError);
    expect(wired.initiator.connection?.send(new Uint8Array(16))).toBe(true);
  });

  test("garbage instead of a handshake is rejected as malformed; the dialler sees a ChannelRejectedError", () => {
    const { responder, initiator, pump, rejected, registry } = link();
    expect(registry.render()).toContain("shoal_secure_channel_pending_handshakes 2");
    pump((chunks) => chunks.map(() => Uint8Array.of(0, 0, 0, 3, 1, 2, 3)));
    expect(rejected("malformed")).toBe(1);
    expect(responder.closed).toBe(true);
    expect(responder.failure).toBeInstanceOf(ChannelRejectedError);
    expect(initiator.failure?.code).toBe("secure_channel_closed");
    expect(responder.connection).toBeUndefined();
    expect(registry.render()).toContain("shoal_secure_channel_pending_handshakes 0");
  });

  test("a handshake message over maxHandshakeMessageBytes is refused as soon as its bytes exceed the bound", () => {
    const { responder, rejected } = link({ configOverrides: { maxHandshakeMessageBytes: 64 } });
    const header = new Uint8Array(4);
    new DataView(header.buffer).setUint32(0, 1000);
    responder.driver.receive(header);
    responder.driver.receive(new Uint8Array(61));
    expect(rejected("oversized")).toBe(0);
    responder.driver.receive(new Uint8Array(10));
    expect(rejected("oversized")).toBe(1);
    expect(responder.failure).toBeInstanceOf(ChannelRejectedError);
  });

  test("a joining initiator is refused where joins are not admitted, and accepted as joining where they are", () => {
    const refused = link({ initiatorIdentity: undefined, admitJoiners: false });
    refused.pump();
    expect(refused.rejected("certificateRequired")).toBe(1);
    // XX finishes at the initiator first: its connection opens, then closes on the responder's notice.
    expect(refused.initiator.closedWith).toEqual([expect.objectContaining({ reason: "certificateRequired", fromPeer: true })]);
    const admitted = link({ initiatorIdentity: undefined });
    admitted.pump();
    expect(admitted.responder.connection?.peer).toEqual({ kind: "joining" });
  });

  test("the first frames after the handshake, in the same chunk as its last message, reach a handler set on establishment", () => {
    const { initiator, responder, pump } = link();
    // Hello and reply, without yet delivering the finish, so the first message joins it in one chunk.
    responder.driver.receive(initiator.outbox.splice(0)[0] as Uint8Array);
    for (const chunk of responder.outbox.splice(0)) initiator.driver.receive(chunk);
    initiator.connection?.send(text("early"));
    pump((chunks) => [concat(chunks)]);
    expect(responder.received).toEqual(["early"]);
  });

  test("messages that arrive before a handler is set wait for it; a throwing handler does not break the connection", () => {
    const { initiator, responder, pump } = link({ handlers: false });
    pump();
    const client = initiator.connection as SecureConnection;
    const server = responder.connection as SecureConnection;
    client.send(text("a"));
    pump();
    const seen: string[] = [];
    server.onMessage((payload) => {
      seen.push(new TextDecoder().decode(payload));
      throw new Error("application bug");
    });
    client.send(text("b"));
    pump();
    expect(seen).toEqual(["a", "b"]);
    expect(server.closed).toBe(false);
    server.send(text("still here"));
    client.onMessage((payload) => seen.push(new TextDecoder().decode(payload)));
    pump();
    expect(seen).toEqual(["a", "b", "still here"]);
  });
});

function flipLastBit(chunk: Uint8Array): Uint8Array {
  const altered = new Uint8Array(chunk);
  altered[altered.length - 1] = (altered[altered.length - 1] as number) ^ 1;
  return altered;
}

function concat(chunks: Uint8Array[]): Uint8Array {
  return Uint8Array.from(chunks.flatMap((chunk) => [...chunk]));
}
