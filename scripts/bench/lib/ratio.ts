/**
 * Ratios that read the same way for every metric: above 1 means Shoal did better, below 1 the
 * peer did. A missing or zero measurement gives `null` rather than a misleading 0 or Infinity.
 */

/** For throughput-like metrics (ops/s, MB/s): `shoal / peer`. */
export function higherIsBetter(shoal: number | null, peer: number | null): number | null {
  if (shoal === null || peer === null || !Number.isFinite(shoal) || !Number.isFinite(peer) || peer <= 0) return null;
  return shoal / peer;
}

/** For cost-like metrics (latency, memory, size): `peer / shoal`. */
export function lowerIsBetter(shoal: number | null, peer: number | null): number | null {
  if (shoal === null || peer === null || !Number.isFinite(shoal) || !Number.isFinite(peer) || shoal <= 0) return null;
  return peer / shoal;
}
