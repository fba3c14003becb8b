/** Capped exponential backoff with jitter, for anything that redials or retries a peer. */
import type { Random } from "./random.ts";

/** The bounds of a backoff: the first wait's ceiling and the largest ceiling. */
export interface BackoffBounds {
  minMs: number;
  maxMs: number;
}

/**
 * The wait after `failures` consecutive failures (1 for the first): the ceiling doubles from
 * `minMs` up to `maxMs`, and the wait is drawn from [ceiling/2, ceiling] so that peers that lost
 * each other at the same moment do not retry in lockstep. Whole milliseconds, so pure state
 * machines stay exact.
 */
export function backoffDelay(failures: number, bounds: BackoffBounds, random: Random): number {
  const ceiling = Math.min(bounds.maxMs, bounds.minMs * 2 ** Math.min(Math.max(failures, 1) - 1, 30));
  return Math.round(ceiling / 2 + random.next() * (ceiling / 2));
}
