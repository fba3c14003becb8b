/**
 * Latency distributions for simulated links. A link's delay is drawn from the network's seeded
 * `Random` on every send, so the whole schedule of deliveries replays from the seed.
 */
import type { Random } from "../../core/common/random.ts";

/** Draws one one-way delay in milliseconds. */
export type LatencyDistribution = (random: Random) => number;

/** Either a uniform range or any distribution function. */
export type LatencySpec = { minMs: number; maxMs: number } | LatencyDistribution;

/** Uniform integer delay in [minMs, maxMs]. */
export function uniformLatency(minMs: number, maxMs: number): LatencyDistribution {
  if (!(minMs >= 0 && maxMs >= minMs)) throw new RangeError(`latency: need 0 <= minMs <= maxMs, got ${minMs}..${maxMs}`);
  return (random) => random.between(Math.floor(minMs), Math.floor(maxMs));
}

/** Always `ms`. */
export function fixedLatency(ms: number): LatencyDistribution {
  if (!(ms >= 0)) throw new RangeError(`latency: need ms >= 0, got ${ms}`);
  return () => ms;
}

/**
 * Mostly `base`, but with probability `tailProbability` an extra exponentially distributed
 * delay of mean `tailMeanMs`: the slow-packet tail that exposes timeouts tuned too tight.
 */
export function longTailLatency(base: LatencySpec, tailProbability: number, tailMeanMs: number): LatencyDistribution {
  const baseDistribution = toDistribution(base);
  return (random) => {
    const delay = baseDistribution(random);
    if (!random.chance(tailProbability)) return delay;
    return delay + Math.round(-Math.log(1 - random.next()) * tailMeanMs);
  };
}

/** Normalizes a `LatencySpec` to a distribution function. */
export function toDistribution(spec: LatencySpec): LatencyDistribution {
  return typeof spec === "function" ? spec : uniformLatency(spec.minMs, spec.maxMs);
}
