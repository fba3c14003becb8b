/**
 * The cluster port over real loopback sockets: connections are handed to the handler of the
 * purpose their hello names, a joining peer may open only `join`, a bad hello or an unknown
 * purpose closes the connection, revoking a serial closes its live connections, and the Raft
 * transport delivers messages only from the node whose certificate opened the connection.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { MetricsRegistry } from "../../../core/api/metrics.ts";
import { nullLogger } from "../../../core/common/log.ts";
import { ClusterListener, dialCluster, encodeHello, type ChannelEnvironment } from "../../../core/cluster/channel.ts";
import type { ChannelHandler, ChannelPurpose, LocalIdentity } from "../../../core/cluster/contract.ts";
import { SecureRaftTransport } from "../../../core/cluster/raft-transport.ts";
import type { Message } from "../../../core/raft/types.ts";
import { dialSecure, type SecureConnection } from "../../../core/secure/channel/index.ts";
import { encodeRaftMessage } from "../../../core/transport/tcp-messages.ts";
import { testCluster } from "../secure/channel-fixture.ts";
import { waitFor } from "../../../scripts/bench/lib/wait.ts";

const cluster = testCluster(77);
const DAY = 24 * 60 * 60 * 1000;
const revoked = new Set<string>();
const environment: ChannelEnvironment = { metrics: new MetricsRegistry(), logger: nullLogger, revoked: () => revoked };
const closers: (() => void)[] = [];

afterEach(() => {
  for (const close of closers.splice(0)) close();
  revoked.clear();
});

const serials = new Map<string, string>();

function identity(nodeId: string, role: "manager" | "worker" = "manager"): LocalIdentity {
  const now = Date.now();
  const node = cluster.node(nodeId, { notBefore: now - DAY, notAfter: now + DAY }, role);
  serials.set(nodeId, node.fields.serial);
  return {
    nodeId, clusterId: cluster.clusterId, role, certificate: node.certificate, signingSecretKey: node.signingSecretKey,
    boxPublicKey: node.fields.boxKey, boxSecretKey: new Uint8Array(32), rootPublicKey: cluster.rootPublicKey,
    managerAddresses: [], address: "127.0.0.1:0", listenAddress: "127.0.0.1:0",
  };
}

/** A listener on a free loopback port; returns it and its address. */
function listen(self: LocalIdentity, handlers: Map<ChannelPurpose, ChannelHandler>): { listener: ClusterListener; address: string } {
  const listener = new ClusterListener("127.0.0.1:0", () => self, handlers, environment);
  closers.push(() => listener.close());
  return { listener, address: `127.0.0.1:${listener.port}` };
}

function closedSoon(connection: SecureConnection): Promise<boolean> {
  return new Promise((resolve) => {
    if (connection.closed) resolve(true);
    connection.onClose(() => resolve(true));
    setTimeout(() => resolve(connection.closed), 3000);
  });
}

function nextMessage(connection: SecureConnection): Promise<string> {
  return new Promise((resolve) => connection.onMessage((payload) => resolve(new TextDecoder().decode(payload))));
}

describe("cluster port multiplexing", () => {
  test("each connection reaches the handler of its purpose, hello consumed", async () => {
    const seen: string[] = [];
    const echo = (purpose: string): ChannelHandler => (connection) => {
      seen.push(purpose);
      connection.onMessage((payload) => connection.send(new TextEncoder().encode(`${purpose}:${new TextDecoder().decode(payload)}`)));
    };
    const { address } = listen(identity("m1"), new Map<ChannelPurpose, ChannelHandler>([["raft", echo("raft")], ["dispatcher", echo("dispatcher")]]));
    const worker = identity("w1", "worker");
    for (const purpose of ["dispatcher", "raft"] as const) {
      const connection = await dialCluster(worker, purpose, address, environment, "m1");
      closers.push(() => connection.close());
      const reply = nextMessage(connection);
      connection.send(new TextEncoder().encode("ping"));
      expect(await reply).toBe(`${purpose}:ping`);
    }
    expect(seen).toEqual(["dispatcher", "raft"]);
  });

  test("a joining peer may open join only; a bad hello or an unserved purpose closes the connection", async () => {
    const joined: string[] = [];
    const { address } = listen(identity("m1"), new Map<ChannelPurpose, ChannelHandler>([
      ["join", (connection) => joined.push(connection.peer.kind)],
      ["raft", () => joined.push("raft")],
    ]));
    const port = Number(address.split(":")[1]);
    const joining = () => dialSecure({ host: "127.0.0.1", port, ...environment, credentials: { rootPin: cluster.rootPin } });

    const sneaky = await joining();
    sneaky.send(encodeHello("raft"));
    expect(await closedSoon(sneaky)).toBe(true);

    const garbage = await joining();
    garbage.send(new Uint8Array([0xde, 0xad]));
    expect(await closedSoon(garbage)).toBe(true);

    const member = await dialCluster(identity("w1", "worker"), "api-forward", address, environment);
    expect(await closedSoon(member)).toBe(true);

    const honest = await joining();
    closers.push(() => honest.close());
    honest.send(encodeHello("join"));
    await waitFor(() => joined.length > 0, { timeoutMs: 1000, what: "the joiner's hello" });
    expect(joined).toEqual(["joining"]);
  });

  test("revoking a serial closes that node's live connections and refuses new ones", async () => {
    const { listener, address } = listen(identity("m1"), new Map<ChannelPurpose, ChannelHandler>([["dispatcher", () => {}]]));
    const worker = identity("w1", "worker");
    const connection = await dialCluster(worker, "dispatcher", address, environment);
    const serial = serials.get("w1") as string;
    revoked.add(serial);
    listener.closeSerial(serial);
    expect(await closedSoon(connection)).toBe(true);
    // The initiator's side of the handshake completes first; the refusal follows as a notice.
    const again = await dialCluster(worker, "dispatcher", address, environment).catch((error: Error) => error);
    if (again instanceof Error) expect(again.message).toMatch(/revoked/);
    else {
      const reason = await new Promise((resolve) => again.onClose((rejection) => resolve(rejection?.reason)));
      expect(reason).toBe("revoked");
    }
  });
});

describe("raft over the secure channel", () => {
  const heartbeat = (from: string, to: string): Message => ({ type: "heartbeat", from, to, term: 3, index: 0, logTerm: 0, entries: [], commit: 0, reject: false, rejectHint: 0 });

  test("delivers messages between managers and refuses a message not from the connection's node", async () => {
    const received: Message[] = [];
    const a = identity("a");
    const b = identity("b");
    const transports: SecureRaftTransport[] = [];
    const addresses = new Map<string, string>();
    for (const self of [a, b]) {
      const transport = new SecureRaftTransport({
        id: self.nodeId,
        dial: (address, peer) => dialCluster(self, "raft", address, environment, peer),
        onMessage: (message) => received.push(message),
        metrics: new MetricsRegistry(),
        logger: nullLogger,
      });
      transports.push(transport);
      closers.push(() => transport.close());
      addresses.set(self.nodeId, listen(self, new Map<ChannelPurpose, ChannelHandler>([["raft", (connection) => transport.accept(connection)]])).address);
    }
    const [ta, tb] = transports as [SecureRaftTransport, SecureRaftTransport];
    ta.setPeer("b", addresses.get("b") as string);
    tb.setPeer("a", addresses.get("a") as string);
    // Resend on every poll: the first sends go out before the connection is up.
    await waitFor(
      () => {
        if (received.length > 0) return true;
        ta.send([heartbeat("a", "b")]);
        return false;
      },
      { timeoutMs: 2000, what: "a heartbeat over the raft channel" },
    );
    expect(received[0]).toMatchObject({ type: "heartbeat", from: "a", to: "b" });
    expect(ta.isConnected("b")).toBe(true);

    // A certified node that lies about `from` loses its connection.
    const liar = await dialCluster(identity("c"), "raft", addresses.get("b") as string, environment);
    liar.send(encodeRaftMessage(heartbeat("a", "b")));
    expect(await closedSoon(liar)).toBe(true);
    expect(received.filter((message) => message.from === "a").length).toBeGreaterThan(0);
  });
});
