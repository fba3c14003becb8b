/**
 * A trace of what happened during a simulated run, hashed as it grows, so a test can assert
 * "same seed, same trace" without keeping millions of events, and a failure can print the last
 * events that led to it.
 */
import { createHash, type Hash } from "node:crypto";
import type { VirtualClock } from "./clock.ts";

/** Options for `Trace`. */
export interface TraceOptions {
  /** When given, each event is prefixed with the virtual time (`t=<ms>`). */
  clock?: VirtualClock;
  /** How many recent events to keep for `tail()` (default 200). The hash covers all of them. */
  keep?: number;
}

/** An append-only event log with a running SHA-256 over every event. */
export class Trace {
  private readonly hasher: Hash = createHash("sha256");
  private readonly recent: string[] = [];
  private count = 0;
  private readonly clock: VirtualClock | undefined;
  private readonly keep: number;

  constructor(options: TraceOptions = {}) {
    this.clock = options.clock;
    this.keep = options.keep ?? 200;
  }

  /** Number of events appended so far. */
  get length(): number {
    return this.count;
  }

  /** Appends one event; its parts are joined with spaces. */
  append(...parts: Array<string | number | boolean | bigint>): void {
    const body = parts.join(" ");
    const line = this.clock ? `t=${this.clock.now()} ${body}` : body;
    // The newline separates events, so ["ab", "c"] and ["a", "bc"] hash differently.
    this.hasher.update(line + "\n");
    this.count++;
    this.recent.push(line);
    if (this.recent.length > this.keep) this.recent.shift();
  }

  /** Hex SHA-256 of every event so far; the trace can keep growing afterwards. */
  hash(): string {
    return this.hasher.copy().digest("hex");
  }

  /** The last `n` events kept (at most `keep`), oldest first. */
  tail(n = this.keep): string[] {
    return this.recent.slice(-n);
  }
}
