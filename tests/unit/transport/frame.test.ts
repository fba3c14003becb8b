import { describe, expect, test } from "bun:test";
import { DecodeError } from "../../../core/common/errors.ts";
import { FrameDecoder, encodeFrame, encodeFrames } from "../../../core/transport/frame.ts";

const bytes = (...values: number[]) => Uint8Array.from(values);

describe("frames", () => {
  test("frames split across chunks at every offset reassemble in order", () => {
    const stream = new Uint8Array([...encodeFrame(bytes(1, 2, 3)), ...encodeFrame(bytes()), ...encodeFrame(bytes(9))]);
    for (let cut = 0; cut <= stream.length; cut++) {
      const decoder = new FrameDecoder(100);
      const frames = [...decoder.push(stream.subarray(0, cut)), ...decoder.push(stream.subarray(cut))];
      expect(frames).toEqual([bytes(1, 2, 3), bytes(), bytes(9)]);
      expect(decoder.pendingBytes).toBe(0);
    }
  });

  test("a batch framed into one buffer is the frames back to back", () => {
    const payloads = [bytes(1, 2, 3), bytes(), bytes(9)];
    const batch = encodeFrames(payloads);
    expect(batch).toEqual(new Uint8Array(payloads.flatMap((payload) => [...encodeFrame(payload)])));
    expect(new FrameDecoder(100).push(batch)).toEqual(payloads);
  });

  test("one byte at a time works and keeps partial input pending", () => {
    const decoder = new FrameDecoder(100);
    const frame = encodeFrame(bytes(5, 6));
    const out: Uint8Array[] = [];
    for (const byte of frame.subarray(0, 5)) out.push(...decoder.push(bytes(byte)));
    expect(out).toEqual([]);
    expect(decoder.pendingBytes).toBe(5);
    out.push(...decoder.push(frame.subarray(5)));
    expect(out).toEqual([bytes(5, 6)]);
  });

  test("a chunk buffer reused by the runtime does not corrupt a pending frame", () => {
    const decoder = new FrameDecoder(100);
    const reused = encodeFrame(bytes(7, 7, 7)).slice(0, 5);
    expect(decoder.push(reused)).toEqual([]);
    reused.fill(0xff);
    expect(decoder.push(bytes(7, 7))).toEqual([bytes(7, 7, 7)]);
  });

  test("a declared length over the limit is refused before buffering it", () => {
    const decoder = new FrameDecoder(10);
    expect(() => decoder.push(bytes(0xff, 0xff, 0xff, 0xff))).toThrow(DecodeError);
  });
});

test("a Buffer chunk is copied on arrival, so the runtime may reuse it", () => {
  const decoder = new FrameDecoder(100);
  const frame = Buffer.from(encodeFrame(Uint8Array.from([1, 2, 3])));
  expect(decoder.push(frame.subarray(0, 5))).toEqual([]);
  frame.fill(0xee);
  const whole = Buffer.from(encodeFrame(Uint8Array.from([1, 2, 3])));
  expect(decoder.push(whole.subarray(5))).toEqual([Uint8Array.from([1, 2, 3])]);
});
