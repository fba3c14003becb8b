/**
 * Byte accounting for entries, shared by the log (`maxBytes` reads), the replicator
 * (`maxSizePerMsg`) and the flow control (`maxInflightBytes`), so all three agree.
 */
import type { Entry } from "./types.ts";

/** Fixed per-entry overhead (term, index, type) charged on top of the payload. */
const ENTRY_OVERHEAD_BYTES = 24;

/** The bytes an entry is charged for in size limits. */
export function entrySize(entry: Entry): number {
  return ENTRY_OVERHEAD_BYTES + entry.data.length;
}

/** The total charged bytes of `entries`. */
export function entriesSize(entries: readonly Entry[]): number {
  let total = 0;
  for (const entry of entries) total += entrySize(entry);
  return total;
}

/**
 * The longest prefix of `entries` within `maxBytes`, but never empty when `entries` is not:
 * one oversized entry must still make progress.
 */
export function limitSize(entries: Entry[], maxBytes: number): Entry[] {
  if (entries.length === 0) return entries;
  let total = entrySize(entries[0] as Entry);
  let count = 1;
  for (; count < entries.length; count++) {
    total += entrySize(entries[count] as Entry);
    if (total > maxBytes) break;
  }
  return count === entries.length ? entries : entries.slice(0, count);
}
