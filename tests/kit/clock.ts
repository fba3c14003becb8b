/**
 * The simulator's virtual clock. Time moves only when a test calls `advance` or `runUntil`, never
 * with the wall clock, so a simulated hour takes as long as its events take to process and a run
 * replays exactly from its seed.
 *
 * Timers sit in a min-heap keyed by (due time, creation sequence): timers due at the same
 * millisecond fire in the order they were set, and a timer set from inside a callback fires in
 * the same `advance` call when it falls due before the call's target time.
 */
import { MinHeap } from "./heap.ts";

/** Identifies a pending timer for `clearTimer`. */
export type TimerId = number;

interface Timer {
  readonly id: TimerId;
  readonly dueAt: number;
  readonly sequence: number;
  readonly fn: () => void;
  /** Re-arm period for `every` timers; undefined for one-shot timers. */
  readonly periodMs: number | undefined;
}

const earlier = (a: Timer, b: Timer) => a.dueAt < b.dueAt || (a.dueAt === b.dueAt && a.sequence < b.sequence);

/** A deterministic clock with timers; see the module comment. */
export class VirtualClock {
  private current: number;
  private nextSequence = 0;
  private nextId = 1;
  private readonly heap = new MinHeap<Timer>(earlier);
  /** The live entry per timer id; a heap entry whose id maps elsewhere was cancelled or re-armed. */
  private readonly live = new Map<TimerId, Timer>();

  /** Starts at `startMs` (default 0). */
  constructor(startMs = 0) {
    this.current = startMs;
  }

  /** The current virtual time in milliseconds. */
  now(): number {
    return this.current;
  }

  /** Number of timers still pending. */
  pendingTimers(): number {
    return this.live.size;
  }

  /** When the next pending timer is due, or `undefined` when none is pending. */
  nextDueAt(): number | undefined {
    return this.peekLive()?.dueAt;
  }

  /** Runs `fn` once, `delayMs` from now (negative delays count as 0). */
  setTimer(delayMs: number, fn: () => void): TimerId {
    // A NaN due time would compare false both ways and silently corrupt the heap order.
    if (Number.isNaN(delayMs) || delayMs === Infinity) throw new RangeError(`VirtualClock.setTimer: delay must be a finite number of ms, got ${delayMs}`);
    return this.arm(this.nextId++, delayMs, fn, undefined);
  }

  /** Runs `fn` every `periodMs` (> 0), first `periodMs` from now, until cleared. */
  every(periodMs: number, fn: () => void): TimerId {
    if (!(periodMs > 0 && periodMs < Infinity)) throw new RangeError(`VirtualClock.every: period must be > 0 ms, got ${periodMs}`);
    return this.arm(this.nextId++, periodMs, fn, periodMs);
  }

  /** Cancels a pending timer; unknown or already-fired ids are ignored. */
  clearTimer(id: TimerId): void {
    this.live.delete(id);
  }

  /**
   * Moves time forward by `ms`, firing every timer due up to the new time in (time, creation)
   * order; during a callback `now()` is that timer's due time.
   */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`VirtualClock.advance: ms must be >= 0, got ${ms}`);
    this.advanceTo(this.current + ms);
  }

  /** Fires timers due up to `timeMs` (which must not be in the past) and sets the time to it. */
  advanceTo(timeMs: number): void {
    if (timeMs < this.current) throw new RangeError(`VirtualClock.advanceTo: ${timeMs} is before now (${this.current})`);
    for (let timer = this.peekLive(); timer !== undefined && timer.dueAt <= timeMs; timer = this.peekLive()) {
      this.fire(timer);
    }
    this.current = timeMs;
  }

  /**
   * Advances until `predicate()` holds or `maxMs` have passed; returns whether it held. The
   * predicate is checked first, then after every step: `stepMs` when given, otherwise the jump
   * to the next pending timer (so idle stretches cost nothing).
   */
  runUntil(predicate: () => boolean, maxMs: number, stepMs?: number): boolean {
    if (stepMs !== undefined && !(stepMs > 0)) throw new RangeError(`VirtualClock.runUntil: stepMs must be > 0, got ${stepMs}`);
    const deadline = this.current + maxMs;
    if (predicate()) return true;
    while (this.current < deadline) {
      const next = stepMs !== undefined ? this.current + stepMs : (this.nextDueAt() ?? deadline);
      this.advanceTo(Math.min(Math.max(next, this.current), deadline));
      if (predicate()) return true;
    }
    return false;
  }

  private arm(id: TimerId, delayMs: number, fn: () => void, periodMs: number | undefined): TimerId {
    const timer: Timer = { id, dueAt: this.current + Math.max(0, delayMs), sequence: this.nextSequence++, fn, periodMs };
    this.live.set(id, timer);
    this.heap.push(timer);
    return id;
  }

  /** The earliest live timer, discarding cancelled heap entries on the way. */
  private peekLive(): Timer | undefined {
    for (let top = this.heap.peek(); top !== undefined; top = this.heap.peek()) {
      if (this.live.get(top.id) === top) return top;
      this.heap.pop();
    }
    return undefined;
  }

  private fire(timer: Timer): void {
    this.heap.pop();
    this.current = timer.dueAt;
    if (timer.periodMs === undefined) this.live.delete(timer.id);
    else this.arm(timer.id, timer.periodMs, timer.fn, timer.periodMs);
    timer.fn();
  }
}
