/**
 * Shipping a snapshot in bounded chunks, so no snapshot is too large to send. The leader keeps
 * a small window of chunks in flight per follower; the follower acknowledges the bytes it has
 * received contiguously and reassembles; a lost or reordered chunk is answered with the
 * offset the follower expects, and the leader rewinds to it.
 */
import type { Snapshot, SnapshotChunk, SnapshotMeta } from "./types.ts";

/** The leader's side of one snapshot being sent to one follower. */
export class SnapshotTransfer {
  /** Bytes the follower confirmed, contiguously from the start. */
  private acked = 0;
  /** Offset of the next chunk to send. */
  private sentOffset = 0;
  /** Whether the final chunk has been sent since the last rewind. */
  private sentFinal = false;
  /** `acked` at the previous stall check. */
  private ackedAtLastCheck = -1;

  constructor(
    readonly snapshot: Snapshot,
    private readonly chunkBytes: number,
    private readonly window: number,
  ) {}

  /** Index of the snapshot being sent. */
  get index(): number {
    return this.snapshot.meta.index;
  }

  /** The chunks that may be sent now, within the window. */
  nextChunks(): SnapshotChunk[] {
    const total = this.snapshot.data.length;
    const chunks: SnapshotChunk[] = [];
    while (!this.sentFinal && this.sentOffset - this.acked < this.window * this.chunkBytes) {
      const end = Math.min(total, this.sentOffset + this.chunkBytes);
      const done = end === total;
      chunks.push({ meta: this.snapshot.meta, offset: this.sentOffset, total, data: this.snapshot.data.subarray(this.sentOffset, end), done });
      this.sentOffset = end;
      this.sentFinal = done;
    }
    return chunks;
  }

  /** The follower has `received` bytes; `rejected` means it expects a resend from there. */
  onResponse(received: number, rejected: boolean): void {
    if (received > this.acked) this.acked = Math.min(received, this.snapshot.data.length);
    if (rejected && received < this.sentOffset) this.rewind(Math.max(received, 0));
  }

  /**
   * Called once per heartbeat round: when nothing was acknowledged since the previous call,
   * chunks were lost, so resend from the last acknowledged byte.
   */
  checkStalled(): void {
    if (this.acked === this.ackedAtLastCheck) this.rewind(this.acked);
    this.ackedAtLastCheck = this.acked;
  }

  private rewind(offset: number): void {
    this.sentOffset = offset;
    this.sentFinal = false;
  }
}

/** What the follower makes of one chunk. */
export interface ChunkOutcome {
  /** Bytes now held contiguously (the acknowledgement to send). */
  received: number;
  /** True when the chunk did not fit and the leader should resend from `received`. */
  reject: boolean;
  /** The whole snapshot, once its last chunk arrived. */
  snapshot?: Snapshot;
}

/** The follower's side: reassembles one snapshot at a time from its chunks. */
export class SnapshotAssembler {
  private current: { meta: SnapshotMeta; total: number; parts: Uint8Array[]; received: number } | undefined;

  /** Takes one chunk; see `ChunkOutcome`. */
  accept(chunk: SnapshotChunk): ChunkOutcome {
    const same = this.current !== undefined && sameSnapshot(this.current.meta, chunk.meta) && this.current.total === chunk.total;
    if (chunk.offset === 0 && !(same && (this.current?.received ?? 0) > 0)) {
      this.current = { meta: chunk.meta, total: chunk.total, parts: [], received: 0 };
    } else if (!same) {
      return { received: 0, reject: true };
    }
    const current = this.current as NonNullable<typeof this.current>;
    if (chunk.offset < current.received) return { received: current.received, reject: false };
    if (chunk.offset > current.received || current.received + chunk.data.length > current.total) {
      return { received: current.received, reject: true };
    }
    current.parts.push(chunk.data);
    current.received += chunk.data.length;
    if (!chunk.done) return { received: current.received, reject: false };
    if (current.received !== current.total) {
      this.current = undefined;
      return { received: 0, reject: true };
    }
    this.current = undefined;
    return { received: current.received, reject: false, snapshot: { meta: chunk.meta, data: concat(current.parts, current.total) } };
  }

  /** Drops a partial snapshot (the node changed term or role). */
  reset(): void {
    this.current = undefined;
  }
}

function sameSnapshot(a: SnapshotMeta, b: SnapshotMeta): boolean {
  return a.index === b.index && a.term === b.term;
}

function concat(parts: Uint8Array[], total: number): Uint8Array {
  const whole = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    whole.set(part, at);
    at += part.length;
  }
  return whole;
}
