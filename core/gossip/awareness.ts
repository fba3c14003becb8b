/**
 * Lifeguard's local health awareness: a score that rises when this node misses acks or nacks
 * or has to refute a suspicion about itself (signs that *it* is the slow or lossy one) and falls
 * with every successful probe. Probe intervals and timeouts are multiplied by `score + 1`, so a
 * struggling node waits longer before accusing others instead of spreading false suspicions.
 */

/** The local health score, bounded to `[0, maxMultiplier - 1]`. */
export class Awareness {
  private current = 0;

  /** `maxMultiplier` is the largest factor timeouts may be stretched by (memberlist's AwarenessMaxMultiplier). */
  constructor(private readonly maxMultiplier: number) {}

  /** The current score: 0 means healthy. */
  get score(): number {
    return this.current;
  }

  /** Raises (positive) or lowers (negative) the score, clamped to its bounds. */
  applyDelta(delta: number): void {
    this.current = Math.min(this.maxMultiplier - 1, Math.max(0, this.current + delta));
  }

  /** `timeout` stretched by the current health: `timeout * (score + 1)`. */
  scale(timeout: number): number {
    return timeout * (this.current + 1);
  }
}
