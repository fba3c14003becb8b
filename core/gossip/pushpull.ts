/**
 * How often full-state anti-entropy runs. Each push-pull ships the whole member table, so large
 * clusters do it less often: above 32 members the interval is multiplied by
 * `ceil(log2(n) - log2(32)) + 1` (memberlist's pushPullScale), keeping the total push-pull
 * traffic per node roughly flat as the cluster grows.
 */

const SCALE_THRESHOLD = 32;

/** The push-pull period for a cluster of `memberCount` members, given the configured `base`. */
export function pushPullInterval(base: number, memberCount: number): number {
  if (memberCount <= SCALE_THRESHOLD) return base;
  const multiplier = Math.ceil(Math.log2(memberCount) - Math.log2(SCALE_THRESHOLD)) + 1;
  return base * multiplier;
}
