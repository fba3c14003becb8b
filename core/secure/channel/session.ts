/**
 * An established channel's frame protection: one secretbox key per direction and a 64-bit frame
 * counter per direction.
 *
 * Frame: counter (8 bytes, big-endian) | secretbox(payload, nonce = 16 zero bytes | counter)
 *
 * The receiver accepts exactly the next counter and nothing else, because the stream beneath is
 * reliable and ordered (TCP): a lower counter is a replay, a higher one a reordering or a gap,
 * and the expected counter that does not open is tampering. The first rejection closes the
 * session: a stream that carried one forged byte is not trusted for another.
 */
import nacl from "tweetnacl";
import { ShoalError } from "../../common/errors.ts";
import type { FrameRejectReason, Rejection } from "./rejection.ts";

const COUNTER_BYTES = 8;
const NONCE_BYTES = nacl.secretbox.nonceLength;
const MAX_COUNTER = 0xffff_ffff_ffff_ffffn;

/** Bytes a sealed frame adds to its payload. */
export const FRAME_OVERHEAD = COUNTER_BYTES + nacl.secretbox.overheadLength;

/** A frame refusal: a `Rejection` whose reason is a frame reason. */
export interface FrameRejection extends Rejection {
  reason: FrameRejectReason;
}

/** The outcome of `ChannelSession.open`. */
export type FrameOpenResult = { ok: true; payload: Uint8Array } | { ok: false; rejection: FrameRejection };

/** The session was used after it closed: a bug in the caller, not bad input. */
export class ChannelClosedError extends ShoalError {
  constructor() {
    super("secure_channel_closed", "the secure channel is closed");
  }
}

/** Seals outgoing and opens incoming frames of one established channel. */
export class ChannelSession {
  private sendCounter = 0n;
  private receiveCounter = 0n;
  private isClosed = false;

  /** @param sendKey seals what this side sends; @param receiveKey opens what the peer sends. */
  constructor(
    private readonly sendKey: Uint8Array,
    private readonly receiveKey: Uint8Array,
  ) {
    if (sendKey.length !== nacl.secretbox.keyLength || receiveKey.length !== nacl.secretbox.keyLength) {
      throw new RangeError(`session keys must be ${nacl.secretbox.keyLength} bytes`);
    }
  }

  /** True once the session was closed or rejected a frame. */
  get closed(): boolean {
    return this.isClosed;
  }

  /** Seals `payload` as the next frame. Throws `ChannelClosedError` after close. */
  seal(payload: Uint8Array): Uint8Array {
    if (this.isClosed) throw new ChannelClosedError();
    // Unreachable in practice (centuries of frames), but a wrapped counter would reuse a nonce.
    if (this.sendCounter > MAX_COUNTER) throw new ShoalError("secure_channel_exhausted", "frame counter exhausted; reconnect");
    const counter = this.sendCounter++;
    const box = nacl.secretbox(payload, nonceFor(counter), this.sendKey);
    const frame = new Uint8Array(COUNTER_BYTES + box.length);
    new DataView(frame.buffer).setBigUint64(0, counter);
    frame.set(box, COUNTER_BYTES);
    return frame;
  }

  /**
   * Opens the next frame from the peer, or rejects it (and closes the session). Never throws on
   * input; throws `ChannelClosedError` only when called after close.
   */
  open(frame: Uint8Array): FrameOpenResult {
    if (this.isClosed) throw new ChannelClosedError();
    if (frame.length < FRAME_OVERHEAD) return this.reject("malformed", `frame of ${frame.length} bytes is shorter than the ${FRAME_OVERHEAD}-byte minimum`);
    const counter = new DataView(frame.buffer, frame.byteOffset, COUNTER_BYTES).getBigUint64(0);
    if (counter < this.receiveCounter) return this.reject("replayed", `frame ${counter} was already received (expected ${this.receiveCounter})`);
    if (counter > this.receiveCounter) return this.reject("reordered", `frame ${counter} arrived while ${this.receiveCounter} was expected`);
    const payload = nacl.secretbox.open(frame.subarray(COUNTER_BYTES), nonceFor(counter), this.receiveKey);
    if (payload === null) return this.reject("tampered", `frame ${counter} failed authentication`);
    this.receiveCounter++;
    return { ok: true, payload };
  }

  /** Closes the session and wipes its keys. */
  close(): void {
    this.isClosed = true;
    this.sendKey.fill(0);
    this.receiveKey.fill(0);
  }

  private reject(reason: FrameRejectReason, message: string): FrameOpenResult {
    this.close();
    return { ok: false, rejection: { reason, message } };
  }
}

function nonceFor(counter: bigint): Uint8Array {
  const nonce = new Uint8Array(NONCE_BYTES);
  new DataView(nonce.buffer).setBigUint64(NONCE_BYTES - COUNTER_BYTES, counter);
  return nonce;
}
