import { describe, expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import nacl from "tweetnacl";
import { encodeCbor } from "../../../core/common/envelope.ts";
import { SeededRandom } from "../../../core/common/random.ts";
import { hmacSha512 } from "../../../core/secure/channel/kdf.ts";
import { ChannelClosedError, ChannelSession, FRAME_OVERHEAD } from "../../../core/secure/channel/session.ts";
import { seededBytes } from "./channel-fixture.ts";

const text = (value: string) => new TextEncoder().encode(value);

/** Two ends of one channel: `a` seals with the key `b` opens with, and the other way round. */
function pair(): { a: ChannelSession; b: ChannelSession } {
  const bytes = seededBytes(3);
  const aToB = bytes(32);
  const bToA = bytes(32);
  return { a: new ChannelSession(aToB.slice(), bToA.slice()), b: new ChannelSession(bToA.slice(), aToB.slice()) };
}

function flipped(frame: Uint8Array, at: number): Uint8Array {
  const altered = new Uint8Array(frame);
  altered[at] = (altered[at] as number) ^ 0x01;
  return altered;
}

describe("channel session frames", () => {
  test("frames open in order in both directions, and the payload is not on the wire", () => {
    const { a, b } = pair();
    for (let i = 0; i < 50; i++) {
      const frame = a.seal(text(`message ${i}`));
      expect(frame.length).toBe(text(`message ${i}`).length + FRAME_OVERHEAD);
      expect(Buffer.from(frame).includes(Buffer.from("message"))).toBe(false);
      expect(b.open(frame)).toEqual({ kind: "message", payload: text(`message ${i}`) });
      expect(a.open(b.seal(text(`reply ${i}`)))).toEqual({ kind: "message", payload: text(`reply ${i}`) });
    }
    expect(b.open(a.seal(new Uint8Array(0)))).toEqual({ kind: "message", payload: new Uint8Array(0) });
  });

  test("a replayed frame is rejected as replayed and closes the session", () => {
    const { a, b } = pair();
    const first = a.seal(text("once"));
    expect(b.open(first).kind).toBe("message");
    expect(b.open(first)).toMatchObject({ kind: "rejected", rejection: { reason: "replayed" } });
    expect(b.closed).toBe(true);
    expect(() => b.open(a.seal(text("later")))).toThrow(ChannelClosedError);
  });

  test("a frame ahead of the next counter is rejected as reordered", () => {
    const { a, b } = pair();
    const first = a.seal(text("first"));
    const second = a.seal(text("second"));
    expect(b.open(second)).toMatchObject({ kind: "rejected", rejection: { reason: "reordered" } });
    expect(b.closed).toBe(true);
    expect(() => b.open(first)).toThrow(ChannelClosedError);
  });

  test("a frame with any flipped bit past the counter is rejected as tampered", () => {
    const frame = pair().a.seal(text("do not touch"));
    for (let at = 8; at < frame.length; at++) {
      const { b } = pair();
      expect(b.open(flipped(frame, at))).toMatchObject({ kind: "rejected", rejection: { reason: "tampered" } });
      expect(b.closed).toBe(true);
    }
  });

  test("a flipped counter is a replay or a reordering, never accepted", () => {
    for (const [at, reason] of [[7, "replayed"], [0, "reordered"]] as const) {
      const { a, b } = pair();
      expect(b.open(a.seal(text("zero"))).kind).toBe("message");
      expect(b.open(flipped(a.seal(text("one")), at))).toMatchObject({ kind: "rejected", rejection: { reason } });
    }
  });

  test("a frame reflected back to its sender does not open", () => {
    const { a } = pair();
    expect(a.open(a.seal(text("echo")))).toMatchObject({ kind: "rejected", rejection: { reason: "tampered" } });
  });

  test("short frames are malformed; random garbage never opens or throws", () => {
    expect(pair().b.open(new Uint8Array(FRAME_OVERHEAD - 1))).toMatchObject({ kind: "rejected", rejection: { reason: "malformed" } });
    const random = new SeededRandom(8);
    for (let i = 0; i < 500; i++) {
      const garbage = Uint8Array.from({ length: random.int(80) }, () => random.int(256));
      if (i % 2 === 0) garbage.fill(0, 0, Math.min(8, garbage.length));
      expect(pair().b.open(garbage).kind).toBe("rejected");
    }
  });

  test("after rejecting a frame, a side can still tell its peer why; the peer reads the notice and stops", () => {
    const { a, b } = pair();
    const forged = flipped(a.seal(text("x")), 20);
    const result = b.open(forged);
    if (result.kind !== "rejected") throw new Error("forged frame accepted");
    expect(() => b.seal(text("more"))).toThrow(ChannelClosedError);
    const notice = b.sealNotice(result.rejection);
    expect(() => b.sealNotice(result.rejection)).toThrow(ChannelClosedError);
    expect(a.open(notice)).toEqual({ kind: "notice", rejection: { reason: "tampered", message: "frame 0 failed authentication" } });
    expect(a.closed).toBe(true);
    expect(() => a.open(notice)).toThrow(ChannelClosedError);
  });

  test("a frame of unknown type, or a notice with an unknown reason, is malformed", () => {
    const bytes = seededBytes(3);
    const aToB = bytes(32);
    const forge = (body: Uint8Array) => {
      const frame = new Uint8Array(8 + body.length + 16);
      frame.set(nacl.secretbox(body, new Uint8Array(24), aToB), 8);
      return frame;
    };
    expect(pair().b.open(forge(Uint8Array.of(7, 1, 2)))).toMatchObject({ kind: "rejected", rejection: { reason: "malformed" } });
    expect(pair().b.open(forge(Uint8Array.of(1, ...encodeCbor(["noSuchReason", "x"]))))).toMatchObject({ kind: "rejected", rejection: { reason: "malformed" } });
    expect(pair().b.open(forge(Uint8Array.of(1, 0xff)))).toMatchObject({ kind: "rejected", rejection: { reason: "malformed" } });
  });

  test("a closed session refuses to seal and wipes its keys", () => {
    const sendKey = new Uint8Array(32).fill(5);
    const session = new ChannelSession(sendKey, new Uint8Array(32).fill(6));
    session.close();
    expect(() => session.seal(text("late"))).toThrow(ChannelClosedError);
    expect(sendKey.every((byte) => byte === 0)).toBe(true);
  });
});

describe("HMAC-SHA-512 from tweetnacl's hash", () => {
  test("matches the reference implementation for short, block-sized and long keys", () => {
    const bytes = seededBytes(4);
    for (const keyLength of [0, 1, 32, 64, 127, 128, 129, 300]) {
      const key = bytes(keyLength);
      const data = bytes(keyLength * 3 + 1);
      expect(Buffer.from(hmacSha512(key, data)).toString("hex")).toBe(createHmac("sha512", key).update(data).digest("hex"));
    }
  });
});
