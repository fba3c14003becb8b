/**
 * Length-prefixed framing for byte streams (TCP): each frame is a 4-byte big-endian length
 * followed by that many bytes. A decoder is fed chunks as they arrive and yields whole frames;
 * a declared length above its limit is refused before any of the frame is buffered, so a peer
 * cannot make us allocate more than the limit.
 */
import { DecodeError } from "../common/errors.ts";

/** Bytes of the length prefix. */
export const FRAME_HEADER_BYTES = 4;

/** Prefixes `payload` with its length. */
export function encodeFrame(payload: Uint8Array): Uint8Array {
  const frame = new Uint8Array(FRAME_HEADER_BYTES + payload.length);
  new DataView(frame.buffer).setUint32(0, payload.length);
  frame.set(payload, FRAME_HEADER_BYTES);
  return frame;
}

/** Reassembles frames from stream chunks. */
export class FrameDecoder {
  private buffered: Uint8Array = new Uint8Array(0);

  /** @param maxFrameBytes the largest payload accepted; a bigger declared length throws `DecodeError`. */
  constructor(private readonly maxFrameBytes: number) {}

  /**
   * Adds a chunk and returns every frame it completes, in order. Throws `DecodeError` when a
   * frame declares a length over the limit; the stream is then unusable and should be closed.
   */
  push(chunk: Uint8Array): Uint8Array[] {
    this.buffered = this.buffered.length === 0 ? chunk : concat(this.buffered, chunk);
    const frames: Uint8Array[] = [];
    for (;;) {
      if (this.buffered.length < FRAME_HEADER_BYTES) break;
      const length = new DataView(this.buffered.buffer, this.buffered.byteOffset, FRAME_HEADER_BYTES).getUint32(0);
      if (length > this.maxFrameBytes) throw new DecodeError(`frame of ${length} bytes exceeds the ${this.maxFrameBytes}-byte limit`, { length, limit: this.maxFrameBytes });
      if (this.buffered.length < FRAME_HEADER_BYTES + length) break;
      frames.push(this.buffered.slice(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + length));
      this.buffered = this.buffered.subarray(FRAME_HEADER_BYTES + length);
    }
    if (this.buffered.length === 0) this.buffered = new Uint8Array(0);
    return frames;
  }

  /** Bytes received but not yet part of a whole frame. */
  get pendingBytes(): number {
    return this.buffered.length;
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const joined = new Uint8Array(a.length + b.length);
  joined.set(a);
  joined.set(b, a.length);
  return joined;
}
