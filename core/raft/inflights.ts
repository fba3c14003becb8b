/**
 * Flow control for one follower: the append messages sent but not yet acknowledged, each
 * remembered by its last index and its bytes, so the leader stops pipelining once either
 * `maxInflightMsgs` or `maxInflightBytes` is reached.
 */

/** A FIFO of in-flight appends, bounded by count and bytes. */
export class Inflights {
  private readonly pending: { index: number; bytes: number }[] = [];
  private totalBytes = 0;

  constructor(
    private readonly maxMessages: number,
    /** 0 means no byte bound. */
    private readonly maxBytes: number,
  ) {}

  /** Records an append whose last entry is `index`. */
  add(index: number, bytes: number): void {
    this.pending.push({ index, bytes });
    this.totalBytes += bytes;
  }

  /** Frees every append up to and including `index` (it was acknowledged). */
  freeLE(index: number): void {
    let freed = 0;
    while (freed < this.pending.length && (this.pending[freed] as { index: number }).index <= index) {
      this.totalBytes -= (this.pending[freed] as { bytes: number }).bytes;
      freed++;
    }
    if (freed > 0) this.pending.splice(0, freed);
  }

  /** Frees the oldest append, so a heartbeat response can unblock a stalled pipeline. */
  freeFirstOne(): void {
    const first = this.pending.shift();
    if (first !== undefined) this.totalBytes -= first.bytes;
  }

  /** Whether no more appends may be sent. */
  full(): boolean {
    return this.pending.length >= this.maxMessages || (this.maxBytes > 0 && this.totalBytes >= this.maxBytes);
  }

  /** Appends in flight. */
  count(): number {
    return this.pending.length;
  }

  /** Bytes in flight. */
  bytes(): number {
    return this.totalBytes;
  }

  /** Forgets everything (the follower changed state). */
  reset(): void {
    this.pending.length = 0;
    this.totalBytes = 0;
  }
}
