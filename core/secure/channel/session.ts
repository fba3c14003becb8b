/**
 * An established channel's frame protection: one secretbox key per direction and a 64-bit frame
 * counter per direction.
 *
 * Frame:     counter (8 bytes, big-endian) | secretbox(body, nonce = 16 zero bytes | counter)
 * Body:      type (1 byte) | content — type 0: an application message; type 1: a refusal notice,
 *            CBOR [reason, message], the last frame a side sends when it refuses the channel.
 *
 * The receiver accepts exactly the next counter and nothing else, because the stream beneath is
 * reliable and ordered (TCP): a lower counter is a replay, a higher one a reordering or a gap,
 * and the expected counter that does not open is tampering. The first rejection ends the
 * receiving direction: a stream that carried one forged byte is not trusted for another. The
 * sending direction is still sound, so the refusing side can tell its peer why (a sealed notice,
 * like a TLS alert) before it closes.
 */
import nacl from "tweetnacl";
import { decodeCbor, encodeCbor } from "../../common/envelope.ts";
import { DecodeError, ShoalError } from "../../common/errors.ts";
import { REJECT_REASONS, type FrameRejectReason, type RejectReason, type Rejection } from "./rejection.ts";

const COUNTER_BYTES = 8;
const NONCE_BYTES = nacl.secretbox.nonceLength;
const MAX_COUNTER = 0xffff_ffff_ffff_ffffn;
const MESSAGE_TYPE = 0;
const NOTICE_TYPE = 1;
/** Notices are short; a longer message is cut rather than refused. */
const MAX_NOTICE_MESSAGE_LENGTH = 512;

/** Bytes a sealed frame adds to its payload. */
export const FRAME_OVERHEAD = COUNTER_BYTES + nacl.secretbox.overheadLength + 1;

/** A frame refusal: a `Rejection` whose reason is a frame reason. */
export interface FrameRejection extends Rejection {
  reason: FrameRejectReason;
}

/** The outcome of `ChannelSession.open`. */
export type FrameOpenResult =
  /** An application message. */
  | { kind: "message"; payload: Uint8Array }
  /** The peer refused the channel and says why; nothing more will come. */
  | { kind: "notice"; rejection: Rejection }
  /** This frame is refused; nothing more will be accepted. */
  | { kind: "rejected"; rejection: FrameRejection };

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
  private sending = true;
  private receiving = true;

  /** @param sendKey seals what this side sends; @param receiveKey opens what the peer sends. */
  constructor(
    private readonly sendKey: Uint8Array,
    private readonly receiveKey: Uint8Array,
  ) {
    if (sendKey.length !== nacl.secretbox.keyLength || receiveKey.length !== nacl.secretbox.keyLength) {
      throw new RangeError(`session keys must be ${nacl.secretbox.keyLength} bytes`);
    }
  }

  /** True once either direction has ended: closed, a frame rejected, or a notice sent or received. */
  get closed(): boolean {
    return !this.sending || !this.receiving;
  }

  /** Seals `payload` as the next frame. Throws `ChannelClosedError` once the session is closed. */
  seal(payload: Uint8Array): Uint8Array {
    if (this.closed) throw new ChannelClosedError();
    return this.sealBody(MESSAGE_TYPE, payload);
  }

  /**
   * Seals a refusal notice telling the peer why this side closes, and ends the sending direction.
   * Allowed after a rejected frame (only the receiving direction is broken then); throws
   * `ChannelClosedError` when the sending direction has already ended.
   */
  sealNotice(rejection: Rejection): Uint8Array {
    if (!this.sending) throw new ChannelClosedError();
    const frame = this.sealBody(NOTICE_TYPE, encodeCbor([rejection.reason, rejection.message.slice(0, MAX_NOTICE_MESSAGE_LENGTH)]));
    this.sending = false;
    return frame;
  }

  /**
   * Opens the next frame from the peer. Never throws on input; throws `ChannelClosedError`
   * only when called after the receiving direction ended.
   */
  open(frame: Uint8Array): FrameOpenResult {
    if (!this.receiving) throw new ChannelClosedError();
    if (frame.length < FRAME_OVERHEAD) return this.reject("malformed", `frame of ${frame.length} bytes is shorter than the ${FRAME_OVERHEAD}-byte minimum`);
    const counter = new DataView(frame.buffer, frame.byteOffset, COUNTER_BYTES).getBigUint64(0);
    if (counter < this.receiveCounter) return this.reject("replayed", `frame ${counter} was already received (expected ${this.receiveCounter})`);
    if (counter > this.receiveCounter) return this.reject("reordered", `frame ${counter} arrived while ${this.receiveCounter} was expected`);
    const body = nacl.secretbox.open(frame.subarray(COUNTER_BYTES), nonceFor(counter), this.receiveKey);
    if (body === null) return this.reject("tampered", `frame ${counter} failed authentication`);
    this.receiveCounter++;
    if (body[0] === MESSAGE_TYPE) return { kind: "message", payload: body.subarray(1) };
    if (body[0] === NOTICE_TYPE) {
      this.receiving = false;
      const rejection = decodeNotice(body.subarray(1));
      return rejection ? { kind: "notice", rejection } : this.reject("malformed", "the peer's refusal notice is malformed");
    }
    return this.reject("malformed", `frame ${counter} has unknown type ${body[0]}`);
  }

  /** Closes both directions and wipes the keys. */
  close(): void {
    this.sending = false;
    this.receiving = false;
    this.sendKey.fill(0);
    this.receiveKey.fill(0);
  }

  /** Seals the body `type | content` as the next frame. */
  private sealBody(type: number, content: Uint8Array): Uint8Array {
    // Unreachable in practice (centuries of frames), but a wrapped counter would reuse a nonce.
    if (this.sendCounter > MAX_COUNTER) throw new ShoalError("secure_channel_exhausted", "frame counter exhausted; reconnect");
    const body = new Uint8Array(1 + content.length);
    body[0] = type;
    body.set(content, 1);
    const counter = this.sendCounter++;
    const box = nacl.secretbox(body, nonceFor(counter), this.sendKey);
    const frame = new Uint8Array(COUNTER_BYTES + box.length);
    new DataView(frame.buffer).setBigUint64(0, counter);
    frame.set(box, COUNTER_BYTES);
    return frame;
  }

  private reject(reason: FrameRejectReason, message: string): FrameOpenResult {
    this.receiving = false;
    return { kind: "rejected", rejection: { reason, message } };
  }
}

function nonceFor(counter: bigint): Uint8Array {
  const nonce = new Uint8Array(NONCE_BYTES);
  new DataView(nonce.buffer).setBigUint64(NONCE_BYTES - COUNTER_BYTES, counter);
  return nonce;
}

function decodeNotice(content: Uint8Array): Rejection | undefined {
  let fields: unknown;
  try {
    fields = decodeCbor(content);
  } catch (error) {
    if (error instanceof DecodeError) return undefined;
    throw error;
  }
  if (!Array.isArray(fields) || fields.length !== 2) return undefined;
  const [reason, message] = fields as unknown[];
  if (!REJECT_REASONS.includes(reason as RejectReason) || typeof message !== "string") return undefined;
  return { reason: reason as RejectReason, message: message.slice(0, MAX_NOTICE_MESSAGE_LENGTH) };
}
