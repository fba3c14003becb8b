/**
 * Per-sender replay protection for sealed gossip packets.
 *
 * Every sealed packet carries its sender's id, an epoch and a counter (inside the box, so they
 * cannot be forged). The epoch is the sender's start time in milliseconds and only grows, so a
 * restarted sender is accepted at once while packets from its previous run are refused; within an
 * epoch the counter grows by one per packet.
 *
 * Per sender the receiver keeps a sliding window of the last `size` counters, as a ring bitmap
 * (the scheme of RFC 6479): counters above the window's top slide it forward; counters inside it
 * are accepted once; counters below it are refused as too old. Reordering within the window is
 * therefore harmless, a duplicate never passes.
 */

/** Why `ReplayWindows.check` refused a counter. */
export type ReplayVerdict = "fresh" | "duplicate" | "tooOld";

interface SenderWindow {
  epoch: number;
  /** The highest counter accepted in `epoch`. */
  top: number;
  /** Bit (counter mod size) is set when that counter was accepted. */
  seen: Uint32Array;
}

/** Options of `ReplayWindows`. */
export interface ReplayWindowOptions {
  /** How many counters behind the newest one are still accepted once; a multiple of 32. */
  size: number;
  /**
   * How many senders are remembered. Beyond it the least recently heard one is forgotten (its
   * next packet starts a new window), which bounds memory when ids churn over a long life.
   */
  maxSenders: number;
}

/** The replay windows of every sender this node has heard from. */
export class ReplayWindows {
  private readonly windows = new Map<string, SenderWindow>();
  private readonly words: number;

  constructor(private readonly options: ReplayWindowOptions) {
    if (options.size <= 0 || options.size % 32 !== 0) throw new RangeError(`replay window size must be a positive multiple of 32, got ${options.size}`);
    this.words = options.size / 32;
  }

  /**
   * Checks (sender, epoch, counter) and, when fresh, records it. Call only after the packet was
   * authenticated: an unauthenticated counter must never move a window.
   */
  check(sender: string, epoch: number, counter: number): ReplayVerdict {
    const window = this.windows.get(sender);
    if (!window || epoch > window.epoch) {
      this.remember(sender, { epoch, top: counter, seen: this.markOnly(counter) });
      return "fresh";
    }
    if (epoch < window.epoch) return "tooOld";
    this.windows.delete(sender);
    this.windows.set(sender, window);
    if (counter > window.top) {
      this.clearBetween(window, window.top, counter);
      window.top = counter;
      this.mark(window.seen, counter);
      return "fresh";
    }
    if (window.top - counter >= this.options.size) return "tooOld";
    if (this.isMarked(window.seen, counter)) return "duplicate";
    this.mark(window.seen, counter);
    return "fresh";
  }

  /** How many senders have a window now. */
  get senderCount(): number {
    return this.windows.size;
  }

  private remember(sender: string, window: SenderWindow): void {
    this.windows.delete(sender);
    this.windows.set(sender, window);
    if (this.windows.size > this.options.maxSenders) {
      const oldest = this.windows.keys().next().value;
      if (oldest !== undefined) this.windows.delete(oldest);
    }
  }

  private markOnly(counter: number): Uint32Array {
    const seen = new Uint32Array(this.words);
    this.mark(seen, counter);
    return seen;
  }

  /** Clears the bits of counters in (from, to] so they read as not yet seen. */
  private clearBetween(window: SenderWindow, from: number, to: number): void {
    if (to - from >= this.options.size) {
      window.seen.fill(0);
      return;
    }
    for (let counter = from + 1; counter <= to; counter++) {
      const bit = counter % this.options.size;
      const word = bit >>> 5;
      window.seen[word] = (window.seen[word] as number) & ~(1 << (bit & 31));
    }
  }

  private mark(seen: Uint32Array, counter: number): void {
    const bit = counter % this.options.size;
    const word = bit >>> 5;
    seen[word] = (seen[word] as number) | (1 << (bit & 31));
  }

  private isMarked(seen: Uint32Array, counter: number): boolean {
    const bit = counter % this.options.size;
    return ((seen[bit >>> 5] as number) & (1 << (bit & 31))) !== 0;
  }
}
