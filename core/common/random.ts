/**
 * Seeded random numbers for the pure protocol cores.
 *
 * Pure cores (raft, gossip, orchestrator…) never call `Math.random()`: they take a `Random`.
 * Production seeds one from the operating system's entropy; the simulator seeds one from the
 * run's seed, so a run replays exactly.
 *
 * Algorithm: xoshiro128** (Blackman and Vigna, 2018), 128 bits of state, period 2^128 − 1,
 * seeded by running SplitMix32 over the seed so that nearby seeds give unrelated streams.
 */

/** A source of random numbers that a pure core may draw from. */
export interface Random {
  /** A uniform 32-bit unsigned integer. */
  nextUint32(): number;
  /** A uniform float in [0, 1). */
  next(): number;
  /** A uniform integer in [0, bound). `bound` must be a positive integer. */
  int(bound: number): number;
  /** A uniform integer in [min, max]. */
  between(min: number, max: number): number;
  /** True with probability `p`. */
  chance(p: number): boolean;
  /** Shuffles `items` in place (Fisher–Yates) and returns it. */
  shuffle<T>(items: T[]): T[];
  /** An independent stream derived from this one (for giving each simulated node its own). */
  fork(): Random;
}

function splitMix32(state: number): () => number {
  let s = state >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

const rotl = (x: number, k: number) => ((x << k) | (x >>> (32 - k))) >>> 0;

/** xoshiro128** seeded from a 32-bit integer; see the module comment. */
export class SeededRandom implements Random {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(seed: number) {
    const mix = splitMix32(seed);
    this.s0 = mix();
    this.s1 = mix();
    this.s2 = mix();
    this.s3 = mix();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 = (this.s2 ^ this.s0) >>> 0;
    this.s3 = (this.s3 ^ this.s1) >>> 0;
    this.s1 = (this.s1 ^ this.s2) >>> 0;
    this.s0 = (this.s0 ^ this.s3) >>> 0;
    this.s2 = (this.s2 ^ t) >>> 0;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  next(): number {
    return this.nextUint32() / 0x1_0000_0000;
  }

  int(bound: number): number {
    if (!Number.isInteger(bound) || bound <= 0) throw new RangeError(`Random.int: bound must be a positive integer, got ${bound}`);
    return Math.floor(this.next() * bound);
  }

  between(min: number, max: number): number {
    return min + this.int(max - min + 1);
  }

  chance(p: number): boolean {
    return p > 0 && this.next() < p;
  }

  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [items[i], items[j]] = [items[j] as T, items[i] as T];
    }
    return items;
  }

  fork(): Random {
    return new SeededRandom(this.nextUint32());
  }
}

/** A `Random` seeded from the operating system's entropy, for production use. */
export function entropyRandom(): Random {
  const seed = new Uint32Array(1);
  crypto.getRandomValues(seed);
  return new SeededRandom(seed[0] as number);
}
