/**
 * The entry store: per network, the newest known version of every (table, key), tombstones
 * and entries of unreachable owners included (whether a reader sees them is decided by
 * NetworkDB, not here).
 */
import type { EntryRecord } from "./types.ts";

/** A stored entry version; a tombstone has `reapAt` set and an empty value. */
export interface StoredEntry extends Omit<EntryRecord, "reapIn"> {
  network: string;
  /** When a tombstone may be forgotten; `null` for a live entry. */
  reapAt: number | null;
}

/** True when version `a` supersedes version `b`: higher Lamport time, ties broken by owner. */
export function supersedes(a: { ltime: number; owner: string }, b: { ltime: number; owner: string }): boolean {
  return a.ltime > b.ltime || (a.ltime === b.ltime && a.owner > b.owner);
}

// Table and key names are printable ASCII, so a space cannot occur in either.
const slot = (table: string, key: string) => `${table} ${key}`;

/** Entries indexed by network, then (table, key). */
export class EntryStore {
  private readonly byNetwork = new Map<string, Map<string, StoredEntry>>();

  /** The stored version of (network, table, key), if any. */
  get(network: string, table: string, key: string): StoredEntry | undefined {
    return this.byNetwork.get(network)?.get(slot(table, key));
  }

  /** Stores `entry`, replacing the version in its slot. */
  set(entry: StoredEntry): void {
    let entries = this.byNetwork.get(entry.network);
    if (entries === undefined) this.byNetwork.set(entry.network, (entries = new Map()));
    entries.set(slot(entry.table, entry.key), entry);
  }

  /** Removes the version in (network, table, key). */
  delete(network: string, table: string, key: string): void {
    const entries = this.byNetwork.get(network);
    entries?.delete(slot(table, key));
    if (entries?.size === 0) this.byNetwork.delete(network);
  }

  /** Every stored version in `network`. */
  ofNetwork(network: string): StoredEntry[] {
    return [...(this.byNetwork.get(network)?.values() ?? [])];
  }

  /** Every stored version in every network, filtered by `match`. */
  where(match: (entry: StoredEntry) => boolean): StoredEntry[] {
    const found: StoredEntry[] = [];
    for (const entries of this.byNetwork.values()) for (const entry of entries.values()) if (match(entry)) found.push(entry);
    return found;
  }
}
