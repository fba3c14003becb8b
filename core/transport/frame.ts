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
  return encodeFrames([payload]);
}

/** Frames each payload, back to back in one buffer, so a batch costs one copy and one write. */
export function encodeFrames(payloads: readonly Uint8Array[]): Uint8Array {
  const frames = new Uint8Array(payloads.reduce((total, payload) => total + FRAME_HEADER_BYTES + payload.length, 0));
  const view = new DataView(frames.buffer);
  let at = 0;
  for (const payload of payloads) {
    view.setUint32(at, payload.length);
    frames.set(payload, at + FRAME_HEADER_BYTES);
    at += FRAME_HEADER_BYTES + payload.length;
  }
  return frames;
}

/**
 * Reassembles frames from stream chunks. Chunks are copied on arrival (a runtime may reuse its
 * read buffer) and joined only once a frame is complete, so a large frame arriving in many small
 * chunks costs linear time.
 */
export class FrameDecoder {
  private chunks: Uint8Array[] = [];
  private bufferedBytes = 0;

  /** @param maxFrameBytes the largest payload accepted; a bigger declared length throws `DecodeError`. */
  constructor(private readonly maxFrameBytes: number) {}

  /**
   * Adds a chunk and returns every frame it completes, in order. Throws `DecodeError` when a
   * frame declares a length over the limit; the stream is then unusable and should be closed.
   */
  push(chunk: Uint8Array): Uint8Array[] {
    if (chunk.length > 0) {
      // A plain copy: `Buffer#slice` returns a view, and the runtime reuses its read buffer.
      this.chunks.push(new Uint8Array(chunk));
      this.bufferedBytes += chunk.length;
    }
    const frames: Uint8Array[] = [];
    while (this.bufferedBytes >= FRAME_HEADER_BYTES) {
      const header = this.peek(FRAME_HEADER_BYTES);
      const length = new DataView(header.buffer, header.byteOffset, FRAME_HEADER_BYTES).getUint32(0);
      if (length > this.maxFrameBytes) throw new DecodeError(`frame of ${length} bytes exceeds the ${this.maxFrameBytes}-byte limit`, { length, limit: this.maxFrameBytes });
      if (this.bufferedBytes < FRAME_HEADER_BYTES + length) break;
      frames.push(this.take(FRAME_HEADER_BYTES + length).subarray(FRAME_HEADER_BYTES));
    }
    return frames;
  }

  /** Bytes received but not yet part of a whole frame. */
  get pendingBytes(): number {
    return this.bufferedBytes;
  }

  /** The first `count` buffered bytes, joined into the first chunk. */
  private peek(count: number): Uint8Array {
    const first = this.chunks[0] as Uint8Array;
    if (first.length >= count) return first.slice(0, count);
    const joined = joinChunks(this.chunks);
    this.chunks = [joined];
    return joined.slice(0, count);
  }

  /** Removes and returns the first `count` buffered bytes. */
  private take(count: number): Uint8Array {
    const joined = joinChunks(this.chunks);
    this.chunks = joined.length > count ? [joined.subarray(count)] : [];
    this.bufferedBytes -= count;
    return joined.subarray(0, count);
  }
}

function joinChunks(chunks: readonly Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0] as Uint8Array;
  const joined = Buffer.concat(chunks);
  return new Uint8Array(joined.buffer, joined.byteOffset, joined.length);
}
