/**
 * The secure channel over real TCP sockets on loopback: a live server is attacked in every way
 * the issue lists, each attack is rejected with its reason, counted and its connection closed,
 * and after each one the same server still serves a good client.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Socket } from "bun";
import { createServer, type AddressInfo } from "node:net";
import { MetricsRegistry } from "../../../core/api/metrics.ts";
import { ShoalError } from "../../../core/common/errors.ts";
import type { ChannelConfig } from "../../../core/secure/channel/config.ts";
import { ChannelRejectedError, type Rejection } from "../../../core/secure/channel/rejection.ts";
import { InitiatorHandshake, ResponderHandshake, type NodeIdentity } from "../../../core/secure/channel/handshake.ts";
import type { ChannelSession } from "../../../core/secure/channel/session.ts";
import { dialSecure, listenSecure, type SecureListener } from "../../../core/secure/channel/socket.ts";
import type { SecureConnection } from "../../../core/secure/channel/connection.ts";
import { encodeFrame, FrameDecoder } from "../../../core/transport/frame.ts";
import { NOW, seededBytes, testCluster, type TestCluster } from "../../unit/secure/channel-fixture.ts";
import { waitFor } from "../../../scripts/bench/lib/wait.ts";

const HOST = "127.0.0.1";
const cluster = testCluster(41);
const manager = cluster.node("manager-1");
const worker = cluster.node("worker-1", {}, "worker");
const removed = cluster.node("removed-1", {}, "worker");
const expired = cluster.node("expired-1", { notBefore: NOW - 10_000, notAfter: NOW - 1 }, "worker");
const text = (value: string) => new TextEncoder().encode(value);
const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

/** Polls `predicate` every 5 ms until it holds; rejects naming `what` once `timeoutMs` passes. */
function until(predicate: () => boolean, what: string, timeoutMs = 5_000): Promise<number> {
  return waitFor(predicate, { timeoutMs, intervalMs: 5, what });
}

/** An echo server on the secure channel, with its registry and the peers it has seen. */
function echoServer(registry: MetricsRegistry, from: TestCluster, identity: NodeIdentity, config: Partial<ChannelConfig> = {}): { listener: SecureListener; peers: SecureConnection[] } {
  const peers: SecureConnection[] = [];
  const listener = listenSecure({
    host: HOST,
    port: 0,
    metrics: registry,
    now: () => NOW,
    revoked: () => new Set([removed.fields.serial]),
    config: { maxFrameBytes: 64 * 1024, ...config },
    credentials: { clusterId: from.clusterId, rootPublicKey: from.rootPublicKey, identity, admitJoiners: true },
    onConnection(connection) {
      peers.push(connection);
      connection.onMessage((payload) => connection.send(text(`echo:${decode(payload)}`)));
    },
  });
  return { listener, peers };
}

/** Dials `port` as `identity` (or as a joining node when undefined). */
function dial(port: number, identity: NodeIdentity | undefined, registry = new MetricsRegistry(), rootPin = cluster.rootPin): Promise<SecureConnection> {
  return dialSecure({
    host: HOST,
    port,
    metrics: registry,
    now: () => NOW,
    randomBytes: seededBytes(port),
    credentials: { clusterId: identity ? cluster.clusterId : undefined, rootPin, identity },
  });
}

/** Sends one message and waits for its echo. */
async function roundTrip(connection: SecureConnection, message: string): Promise<string> {
  const reply = new Promise<string>((resolve) => connection.onMessage((payload) => resolve(decode(payload))));
  connection.send(text(message));
  return reply;
}

/** A plain TCP client that speaks raw bytes, to send what a well-behaved peer never would. */
class RawClient {
  readonly frames: Uint8Array[] = [];
  closed = false;
  private readonly decoder = new FrameDecoder(1 << 24);
  private socket!: Socket<undefined>;

  static async connect(port: number): Promise<RawClient> {
    const client = new RawClient();
    client.socket = await Bun.connect({
      hostname: HOST,
      port,
      socket: {
        data: (_socket, chunk) => {
          client.frames.push(...client.decoder.push(chunk));
        },
        close: () => {
          client.closed = true;
        },
      },
    });
    return client;
  }

  write(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  end(): void {
    this.socket.end();
  }

  async nextFrame(): Promise<Uint8Array> {
    await until(() => this.frames.length > 0 || this.closed, "a frame from the server");
    const frame = this.frames.shift();
    if (!frame) throw new Error("the server closed the connection");
    return frame;
  }

  /** Runs a correct handshake as `identity`, leaving the raw socket and the session to misuse. */
  static async established(port: number, identity: NodeIdentity): Promise<{ raw: RawClient; session: ChannelSession }> {
    const raw = await RawClient.connect(port);
    const handshake = new InitiatorHandshake({ clusterId: cluster.clusterId, rootPin: cluster.rootPin, identity, randomBytes: seededBytes(7) });
    raw.write(encodeFrame(handshake.start()));
    const step = handshake.receive(await raw.nextFrame(), NOW);
    if (step.kind !== "established" || !step.message) throw new Error(`raw handshake failed: ${JSON.stringify(step)}`);
    raw.write(encodeFrame(step.message));
    return { raw, session: step.channel.session };
  }
}

describe("secure channel over TCP", () => {
  const registry = new MetricsRegistry();
  let server: ReturnType<typeof echoServer>;
  let port: number;
  /** A connection open through every attack: other peers' failures must not touch it. */
  let bystander: SecureConnection;

  const rejected = (reason: string) => Number(registry.render().match(new RegExp(`shoal_secure_channel_rejected_total\\{reason="${reason}"\\} (\\d+)`))?.[1]);
  /** After each attack: the reason counted once more, and a good client still served. */
  async function expectRejectedThenServing(reason: string, before: number): Promise<void> {
    await until(() => rejected(reason) === before + 1, `one more ${reason} rejection counted`);
    const good = await dial(port, worker);
    expect(await roundTrip(good, `still serving after ${reason}`)).toBe(`echo:still serving after ${reason}`);
    good.close();
    expect(await roundTrip(bystander, `bystander after ${reason}`)).toBe(`echo:bystander after ${reason}`);
  }

  beforeAll(async () => {
    server = echoServer(registry, cluster, manager);
    port = server.listener.port;
    bystander = await dial(port, cluster.node("bystander-1", {}, "worker"));
  });
  afterAll(() => {
    expect(bystander.closed).toBe(false);
    server.listener.close();
  });

  test("a member dials, both sides see the other's certificate, messages echo", async () => {
    const connection = await dial(port, worker);
    expect(connection.peer).toEqual({ kind: "member", certificate: manager.fields });
    expect(await roundTrip(connection, "hello")).toBe("echo:hello");
    await until(() => server.peers.some((peer) => peer.peer.kind === "member" && peer.peer.certificate.nodeId === "worker-1"), "the server to see worker-1");
    connection.close();
  }, 15_000);

  test("a node joining with only the token's pin gets a join-only channel and learns the cluster", async () => {
    const connection = await dial(port, undefined);
    expect(connection.clusterId).toBe(cluster.clusterId);
    expect(connection.rootPublicKey).toEqual(cluster.rootPublicKey);
    expect(await roundTrip(connection, "join please")).toBe("echo:join please");
    expect(server.peers.at(-1)?.peer).toEqual({ kind: "joining" });
    connection.close();
  }, 15_000);

  test("a large message crosses in many TCP segments", async () => {
    const connection = await dial(port, worker);
    const big = "x".repeat(60_000);
    expect(await roundTrip(connection, big)).toBe(`echo:${big}`);
    connection.close();
  }, 15_000);

  for (const [reason, misuse] of [
    ["tampered", (session: ChannelSession) => {
      const frame = session.seal(text("forged"));
      frame[frame.length - 1] = (frame[frame.length - 1] as number) ^ 1;
      return [frame];
    }],
    ["replayed", (session: ChannelSession) => {
      const frame = session.seal(text("twice"));
      return [frame, frame];
    }],
    ["reordered", (session: ChannelSession) => {
      const first = session.seal(text("first"));
      return [session.seal(text("second")), first];
    }],
  ] as const) {
    test(`a ${reason} frame is rejected as ${reason}, its connection closed, the server unaffected`, async () => {
      const before = rejected(reason);
      const { raw, session } = await RawClient.established(port, worker);
      for (const frame of misuse(session)) raw.write(encodeFrame(frame));
      await until(() => raw.closed, "the server to close the connection");
      // The server said why before closing: its last frame is a sealed notice (after any echo of a valid frame).
      const answers = raw.frames.splice(0).map((frame) => session.open(frame));
      expect(answers.at(-1)).toMatchObject({ kind: "notice", rejection: { reason } });
      await expectRejectedThenServing(reason, before);
    }, 15_000);
  }

  test("a frame announcing more than the maximum size is rejected as oversized", async () => {
    const before = rejected("oversized");
    const { raw } = await RawClient.established(port, worker);
    const header = new Uint8Array(4);
    new DataView(header.buffer).setUint32(0, 1 << 30);
    raw.write(header);
    await until(() => raw.closed, "the server to close the connection");
    await expectRejectedThenServing("oversized", before);
  }, 15_000);

  test("a node of another cluster is refused as wrongCluster", async () => {
    const before = rejected("wrongCluster");
    const other = testCluster(42);
    const stranger = other.node("stranger");
    const attempt = dialSecure({ host: HOST, port, metrics: new MetricsRegistry(), now: () => NOW, credentials: { clusterId: other.clusterId, rootPin: other.rootPin, identity: stranger } });
    await expect(attempt).rejects.toBeInstanceOf(ShoalError);
    await expectRejectedThenServing("wrongCluster", before);
  }, 15_000);

  test("expired and revoked certificates are refused with their reasons", async () => {
    for (const [reason, identity] of [["expired", expired], ["revoked", removed]] as const) {
      const before = rejected(reason);
      // XX finishes at the initiator first, so the dial succeeds; the responder's notice then says why it closes.
      const connection = await dial(port, identity);
      const closedWith = new Promise<Rejection | undefined>((resolve) => connection.onClose(resolve));
      expect(await closedWith).toMatchObject({ reason, fromPeer: true });
      await expectRejectedThenServing(reason, before);
    }
  }, 15_000);

  test("a man in the middle presenting another root fails on the pin, at the dialler", async () => {
    const impostor = testCluster(43, cluster.clusterId);
    const impostorRegistry = new MetricsRegistry();
    const fake = echoServer(impostorRegistry, impostor, impostor.node("manager-1"));
    try {
      const clientRegistry = new MetricsRegistry();
      const attempt = dial(fake.listener.port, undefined, clientRegistry);
      const error = await attempt.then(() => undefined, (failure: unknown) => failure);
      expect(error).toBeInstanceOf(ChannelRejectedError);
      expect((error as ChannelRejectedError).rejection.reason).toBe("rootPinMismatch");
      expect(clientRegistry.render()).toContain('shoal_secure_channel_rejected_total{reason="rootPinMismatch"} 1');
      expect(fake.peers).toEqual([]);
    } finally {
      fake.listener.close();
    }
  }, 15_000);

  test("garbage and a truncated hello are rejected as malformed", async () => {
    for (const bytes of [encodeFrame(text("definitely not a handshake")), encodeFrame(new InitiatorHandshake({ rootPin: cluster.rootPin, randomBytes: seededBytes(3) }).start().subarray(0, 20))]) {
      const before = rejected("malformed");
      const raw = await RawClient.connect(port);
      raw.write(bytes);
      await until(() => raw.closed, "the server to close the connection");
      await expectRejectedThenServing("malformed", before);
    }
  }, 15_000);

  test("a peer that connects and stays silent is dropped at the handshake timeout", async () => {
    const slowRegistry = new MetricsRegistry();
    const strict = echoServer(slowRegistry, cluster, manager, { handshakeTimeoutMs: 200 });
    try {
      const raw = await RawClient.connect(strict.listener.port);
      await until(() => raw.closed, "the server to close the connection");
      expect(slowRegistry.render()).toContain('shoal_secure_channel_rejected_total{reason="timeout"} 1');
      const good = await dial(strict.listener.port, worker);
      expect(await roundTrip(good, "prompt")).toBe("echo:prompt");
      good.close();
    } finally {
      strict.listener.close();
    }
  }, 15_000);

  test("a peer that stops reading makes writes queue; they drain in order once it reads again", async () => {
    const messages = 6;
    const size = 4 * 1024 * 1024;
    const received: number[] = [];
    let paused: { resume(): void } | undefined;
    const server = createServer((socket) => {
      const decoder = new FrameDecoder(1 << 25);
      const handshake = new ResponderHandshake({ clusterId: cluster.clusterId, rootPublicKey: cluster.rootPublicKey, identity: manager, admitJoiners: false, randomBytes: seededBytes(5) });
      let session: ChannelSession | undefined;
      socket.on("data", (chunk: Buffer) => {
        for (const frame of decoder.push(chunk)) {
          if (session) {
            const opened = session.open(frame);
            if (opened.kind === "message") received.push(opened.payload[0] as number);
            continue;
          }
          const step = handshake.receive(frame, NOW);
          if (step.kind === "continue") socket.write(encodeFrame(step.message));
          if (step.kind === "established") {
            session = step.channel.session;
            socket.pause();
            paused = socket;
          }
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
    try {
      const connection = await dial((server.address() as AddressInfo).port, worker);
      for (let i = 0; i < messages; i++) connection.send(new Uint8Array(size).fill(i));
      await until(() => paused !== undefined, "the slow reader to pause");
      expect(connection.bufferedBytes).toBeGreaterThan(0);
      paused?.resume();
      await until(() => received.length === messages, `all ${messages} messages`, 30_000);
      expect(received).toEqual([0, 1, 2, 3, 4, 5]);
      expect(connection.bufferedBytes).toBe(0);
      connection.close();
    } finally {
      server.close();
    }
  }, 60_000);

  test("connections beyond the pending-handshake limit are dropped at once; served again once handshakes finish", async () => {
    const ownRegistry = new MetricsRegistry();
    const limited = echoServer(ownRegistry, cluster, manager, { maxPendingHandshakes: 2 });
    try {
      const silent = [await RawClient.connect(limited.listener.port), await RawClient.connect(limited.listener.port)];
      const extra = await RawClient.connect(limited.listener.port);
      await until(() => extra.closed, "the connection over the limit to be dropped");
      expect(ownRegistry.render()).toContain('shoal_secure_channel_rejected_total{reason="overloaded"} 1');
      expect(silent.some((raw) => raw.closed)).toBe(false);
      for (const raw of silent) raw.end();
      await until(() => silent.every((raw) => raw.closed), "the silent connections to close");
      await until(() => ownRegistry.render().includes("shoal_secure_channel_pending_handshakes 0"), "no pending handshakes");
      const connection = await dial(limited.listener.port, worker);
      expect(await roundTrip(connection, "room again")).toBe("echo:room again");
      connection.close();
    } finally {
      limited.listener.close();
    }
  }, 15_000);

  test("closing the listener closes its connections", async () => {
    const ownRegistry = new MetricsRegistry();
    const temporary = echoServer(ownRegistry, cluster, manager);
    const connection = await dial(temporary.listener.port, worker);
    temporary.listener.close();
    await until(() => connection.closed, "the connection to close with its listener");
    await expect(dial(temporary.listener.port, worker)).rejects.toMatchObject({ code: "secure_channel_unreachable" });
  }, 15_000);
});
