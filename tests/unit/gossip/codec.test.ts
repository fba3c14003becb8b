import { describe, expect, test } from "bun:test";
import { encodeCbor, encodeEnvelope } from "../../../core/common/envelope.ts";
import { DecodeError } from "../../../core/common/errors.ts";
import { SeededRandom } from "../../../core/common/random.ts";
import { MAX_NAME_LENGTH, PACKET_FORMAT, PACKET_OVERHEAD, STREAM_FORMAT, assemblePacket, decodePacket, decodeStream, encodeMessage, encodeStream } from "../../../core/gossip/codec.ts";
import type { PacketMessage, StreamMessage } from "../../../core/gossip/types.ts";

const meta = Uint8Array.of(1, 2, 3);
const samples: PacketMessage[] = [
  { type: "ping", seq: 7, target: "b", source: "a", sourceAddress: "10.0.0.1:7371" },
  { type: "indirectPing", seq: 8, target: "c", targetAddress: "10.0.0.3:7371", source: "a", sourceAddress: "10.0.0.1:7371", wantNack: true },
  { type: "ack", seq: 9 },
  { type: "nack", seq: 10 },
  { type: "alive", name: "a", incarnation: 3, address: "10.0.0.1:7371", meta },
  { type: "suspect", name: "b", incarnation: 4, from: "a" },
  { type: "dead", name: "b", incarnation: 4, from: "a" },
  { type: "user", data: Uint8Array.of(9, 9) },
];

/** A packet whose messages are exactly `messages`, bypassing the encoder's own checks. */
const rawPacket = (messages: unknown[]) => encodeCbor([PACKET_FORMAT, ...messages]);
/** A stream payload carrying exactly `message`. */
const rawStream = (message: unknown) => encodeCbor([STREAM_FORMAT, message]);

function expectDecodeError(run: () => unknown, pattern?: RegExp): void {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(DecodeError);
  if (pattern) expect((caught as Error).message).toMatch(pattern);
}

describe("gossip codec", () => {
  test("every packet message survives a compound packet", () => {
    const packet = assemblePacket(samples.map(encodeMessage));
    expect(decodePacket(packet)).toEqual(samples);
  });

  test("a packet costs at most its overhead plus its messages", () => {
    const encoded = samples.map(encodeMessage);
    const payload = encoded.reduce((sum, message) => sum + message.length, 0);
    expect(assemblePacket(encoded).length).toBeLessThanOrEqual(PACKET_OVERHEAD + payload);
  });

  test("compound packets with more than 23 and 255 messages keep a valid header", () => {
    for (const count of [24, 300]) {
      const messages = Array.from({ length: count }, (_, seq) => encodeMessage({ type: "ack", seq }));
      expect(decodePacket(assemblePacket(messages))).toHaveLength(count);
    }
  });

  test("stream messages round-trip, push-pull included", () => {
    const messages: StreamMessage[] = [
      { type: "pushPull", join: true, members: [{ name: "a", address: "x:1", meta, incarnation: 2, state: "suspect" }], userState: Uint8Array.of(5), digest: 2 ** 52 - 1 },
      { type: "ping", seq: 1, target: "b", source: "a", sourceAddress: "x:1" },
      { type: "ack", seq: 1 },
      { type: "user", data: Uint8Array.of(1) },
    ];
    for (const message of messages) expect(decodeStream(encodeStream(message), 1 << 20)).toEqual(message);
  });

  test("rejects malformed packets with a clear DecodeError", () => {
    expectDecodeError(() => decodePacket(Uint8Array.of(0xff, 0x00, 0x13)));
    expectDecodeError(() => decodePacket(encodeEnvelope("raft.msg", 1, [])), /not a gossip packet of a known format/);
    expectDecodeError(() => decodePacket(encodeCbor([STREAM_FORMAT, [2, 1]])), /not a gossip packet of a known format/);
    expectDecodeError(() => decodePacket(encodeCbor([99, [2, 1]])), /known format/);
    expectDecodeError(() => decodePacket(rawPacket([])), /no message/);
    expectDecodeError(() => decodePacket(encodeCbor({ a: 1 })), /not a list/);
    expectDecodeError(() => decodePacket(rawPacket([[42, 1]])), /unknown tag/);
    expectDecodeError(() => decodePacket(rawPacket([["ack", 1]])), /unknown tag/);
    expectDecodeError(() => decodePacket(rawPacket([[2]])), /has 1 fields, expected 2/);
    expectDecodeError(() => decodePacket(rawPacket([[2, -1]])), /field 1 must be a non-negative integer/);
    expectDecodeError(() => decodePacket(rawPacket([[2, 1.5]])), /non-negative integer/);
    expectDecodeError(() => decodePacket(rawPacket([[4, "", 1, "x:1", meta]])), /field 1 must be a string/);
    expectDecodeError(() => decodePacket(rawPacket([[4, "a".repeat(MAX_NAME_LENGTH + 1), 1, "x:1", meta]])), /string of 1\.\.256/);
    expectDecodeError(() => decodePacket(rawPacket([[4, "a", 1, "x:1", "not bytes"]])), /byte string/);
    expectDecodeError(() => decodePacket(rawPacket([[1, 1, "b", "y:1", "a", "x:1", "yes"]])), /boolean/);
    expectDecodeError(() => decodePacket(rawPacket([[8, false, [], new Uint8Array(), 0]])), /only accepted on a stream/);
  });

  test("one bad message spoils the whole packet", () => {
    const good = encodeMessage({ type: "ack", seq: 1 });
    const bad = encodeCbor([5, "b", -4, "a"]);
    expectDecodeError(() => decodePacket(assemblePacket([good, bad])), /#1/);
  });

  test("rejects malformed streams, oversized ones and packet-only messages", () => {
    const big = encodeStream({ type: "user", data: new Uint8Array(100) });
    expectDecodeError(() => decodeStream(big, 50), /exceeds 50/);
    expectDecodeError(() => decodeStream(rawStream([3, 1]), 1000), /nack message is not accepted on a stream/);
    expectDecodeError(() => decodeStream(rawStream([8, true, [["a", "x", meta, 1, 9]], new Uint8Array(), 0]), 1000), /unknown state/);
    expectDecodeError(() => decodeStream(rawStream([8, true, [["a"]], new Uint8Array(), 0]), 1000), /5-field/);
    expectDecodeError(() => decodeStream(encodeCbor([STREAM_FORMAT, [2, 1], [2, 2]]), 1000), /carries 2 messages/);
    expectDecodeError(() => decodeStream(assemblePacket([encodeMessage({ type: "ack", seq: 1 })]), 1000), /not a gossip stream/);
  });

  test("thousands of random mutations only ever raise DecodeError", () => {
    const random = new SeededRandom(42);
    const packet = assemblePacket(samples.map(encodeMessage));
    for (let round = 0; round < 5000; round++) {
      const mutated = packet.slice(0, random.between(1, packet.length));
      for (let flips = random.between(1, 4); flips > 0; flips--) mutated[random.int(mutated.length)] = random.int(256);
      try {
        decodePacket(mutated);
      } catch (error) {
        if (!(error instanceof DecodeError)) throw error;
      }
    }
  });
});
