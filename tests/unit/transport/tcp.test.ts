import { afterEach, describe, expect, test } from "bun:test";
import { connect, type Socket } from "node:net";
import { MetricsRegistry } from "../../../core/api/metrics.ts";
import { encodeCbor, encodeEnvelope } from "../../../core/common/envelope.ts";
import type { Message } from "../../../core/raft/types.ts";
import { encodeFrame } from "../../../core/transport/frame.ts";
import { decodeRaftMessage, encodeRaftMessage } from "../../../core/transport/tcp-messages.ts";
import { TcpTransport } from "../../../core/transport/tcp.ts";
import { waitFor } from "../../../scripts/bench/lib/wait.ts";

function message(overrides: Partial<Message> = {}): Message {
  return {
    type: "append", from: "a", to: "b", term: 3, index: 7, logTerm: 2, commit: 6, reject: false, rejectHint: 0,
    entries: [{ term: 3, index: 8, type: "normal", data: new Uint8Array([1, 2, 3]) }, { term: 3, index: 9, type: "conf", data: new Uint8Array() }],
    ...overrides,
  };
}

describe("raft message codec", () => {
  test("round-trips every field, including snapshot chunks and read contexts", () => {
    const full = message({
      type: "snapshot",
      context: new Uint8Array([9, 9]),
      snapshotChunk: { meta: { index: 40, term: 3, conf: { voters: ["a", "b"], learners: ["c"], votersOutgoing: [] } }, offset: 0, total: 2, data: new Uint8Array([5, 6]), done: true },
    });
    expect(decodeRaftMessage(encodeRaftMessage(full))).toEqual(full);
    expect(decodeRaftMessage(encodeRaftMessage(message({ entries: [] })))).toEqual(message({ entries: [] }));
  });

  const body = (overrides: Record<string, unknown>) => ({
    type: "heartbeat", from: "a", to: "b", term: 1, index: 0, logTerm: 0, commit: 0, reject: false, rejectHint: 0, entries: [], ...overrides,
  });
  const cases: [string, unknown, string][] = [
    ["unknown type", body({ type: "explode" }), "type explode is unknown"],
    ["negative term", body({ term: -1 }), "term must be a non-negative integer"],
    ["string index", body({ index: "7" }), "index must be a non-negative integer"],
    ["empty sender", body({ from: "" }), "from must be a node id"],
    ["entry without data", body({ entries: [[1, 1, 0]] }), "entries[0] is malformed"],
    ["entry of unknown type", body({ entries: [[1, 1, 7, new Uint8Array()]] }), "entries[0] is malformed"],
    ["chunk past its total", body({ snapshotChunk: { meta: { index: 1, term: 1, conf: { voters: [], learners: [], votersOutgoing: [] } }, offset: 5, total: 6, data: new Uint8Array(2), done: false } }), "past its total"],
    ["context not bytes", body({ context: "ctx" }), "context must be bytes"],
    ["body not a map", [1, 2], "raft message must be a map"],
  ];
  for (const [name, value, error] of cases) {
    test(`rejects ${name}`, () => {
      expect(() => decodeRaftMessage(encodeEnvelope("raft.msg", 1, value))).toThrow(error);
    });
  }

  test("rejects an unknown version and a foreign envelope", () => {
    expect(() => decodeRaftMessage(encodeEnvelope("raft.msg", 2, body({})))).toThrow("unsupported raft.msg version 2");
    expect(() => decodeRaftMessage(encodeEnvelope("gossip.packet", 1, body({})))).toThrow("expected a raft.msg envelope");
  });
});

describe("TcpTransport", () => {
  const open: TcpTransport[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((transport) => transport.close()));
  });

  async function node(id: string, inbox: Message[], metrics = new MetricsRegistry(), port = 0): Promise<TcpTransport> {
    const transport = new TcpTransport({ id, listen: { host: "127.0.0.1", port }, onMessage: (m) => inbox.push(m), metrics, maxFrameBytes: 64 * 1024, reconnectMinMs: 10, reconnectMaxMs: 40 });
    await transport.start();
    open.push(transport);
    return transport;
  }

  test("delivers a batch in order, both ways", async () => {
    const toA: Message[] = [];
    const toB: Message[] = [];
    const a = await node("a", toA);
    const b = await node("b", toB);
    a.setPeer("b", b.address());
    b.setPeer("a", a.address());
    const batch = Array.from({ length: 200 }, (_, i) => message({ index: i }));
    a.send(batch);
    b.send([message({ from: "b", to: "a", type: "appendResp", entries: [] })]);
    await waitFor(() => toB.length === 200 && toA.length === 1, { what: "both directions" });
    expect(toB).toEqual(batch);
    expect(toA[0]?.type).toBe("appendResp");
  });

  test("malformed, oversized and misaddressed frames close that connection, are counted, and the node still serves", async () => {
    const inbox: Message[] = [];
    const metrics = new MetricsRegistry();
    const b = await node("b", inbox, metrics);
    const { port } = b.address();
    const attacks: [string, Uint8Array][] = [
      ["malformed", encodeFrame(new TextEncoder().encode("definitely not cbor \xff\xff"))],
      ["malformed", encodeFrame(encodeEnvelope("raft.msg", 99, {}))],
      ["malformed", encodeFrame(encodeCbor({ hello: "world" }))],
      ["oversized", Uint8Array.from([0x7f, 0xff, 0xff, 0xff, 1, 2, 3])],
      ["misaddressed", encodeFrame(encodeRaftMessage(message({ to: "someone-else" })))],
    ];
    for (const [, frame] of attacks) {
      const socket = await rawConnect(port);
      const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
      socket.write(frame);
      await closed;
    }
    const text = metrics.render();
    expect(text).toContain('shoal_raft_transport_frames_rejected_total{reason="malformed"} 3');
    expect(text).toContain('shoal_raft_transport_frames_rejected_total{reason="oversized"} 1');
    expect(text).toContain('shoal_raft_transport_frames_rejected_total{reason="misaddressed"} 1');
    expect(inbox).toEqual([]);
    const a = await node("a", []);
    a.setPeer("b", b.address());
    a.send([message()]);
    await waitFor(() => inbox.length === 1, { what: "a valid message after the attacks" });
  });

  test("a message over the frame limit is dropped and counted on the sender, not sent", async () => {
    const metrics = new MetricsRegistry();
    const inbox: Message[] = [];
    const b = await node("b", inbox);
    const a = await node("a", [], metrics);
    a.setPeer("b", b.address());
    a.send([message({ entries: [{ term: 1, index: 1, type: "normal", data: new Uint8Array(100 * 1024) }] }), message({ index: 1 })]);
    await waitFor(() => inbox.length === 1, { what: "the small message" });
    expect(inbox[0]?.index).toBe(1);
    expect(metrics.render()).toContain('shoal_raft_transport_messages_dropped_total{reason="too_large"} 1');
  });

  test("reconnects with backoff after the peer restarts on the same port", async () => {
    const first: Message[] = [];
    const a = await node("a", []);
    const b = await node("b", first);
    const address = b.address();
    a.setPeer("b", address);
    a.send([message()]);
    await waitFor(() => first.length === 1, { what: "first delivery" });
    await b.close();
    open.splice(open.indexOf(b), 1);
    const second: Message[] = [];
    await node("b", second, new MetricsRegistry(), address.port);
    await waitFor(() => {
      a.send([message({ type: "heartbeat", entries: [] })]);
      return second.length > 0;
    }, { what: "delivery after the restart" });
    expect(second[0]?.type).toBe("heartbeat");
  });
});

function rawConnect(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => resolve(socket));
    socket.on("error", reject);
  });
}
