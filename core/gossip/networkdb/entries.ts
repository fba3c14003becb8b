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

/** The one string naming (table, key) within a network; names are printable ASCII without spaces. */
export const entrySlot = (table: string, key: string) => `${table} ${key}`;

/** Entries indexed by network, then (table, key); and by owner, for membership changes. */
export class EntryStore {
  private readonly byNetwork = new Map<string, Map<string, StoredEntry>>();
  private readonly byOwner = new Map<string, Set<StoredEntry>>();

  /** The stored version of (network, table, key), if any. */
  get(network: string, table: string, key: string): StoredEntry | undefined {
    return this.byNetwork.get(network)?.get(entrySlot(table, key));
  }

  /** Stores `entry`, replacing the version in its slot. */
  set(entry: StoredEntry): void {
    let entries = this.byNetwork.get(entry.network);
    if (entries === undefined) this.byNetwork.set(entry.network, (entries = new Map()));
    const key = entrySlot(entry.table, entry.key);
    const previous = entries.get(key);
    if (previous !== undefined) this.unindex(previous);
    entries.set(key, entry);
    let owned = this.byOwner.get(entry.owner);
    if (owned === undefined) this.byOwner.set(entry.owner, (owned = new Set()));
    owned.add(entry);
  }

  /** Removes the version in (network, table, key). */
  delete(network: string, table: string, key: string): void {
    const entries = this.byNetwork.get(network);
    const entry = entries?.get(entrySlot(table, key));
    if (entries === undefined || entry === undefined) return;
    entries.delete(entrySlot(table, key));
    if (entries.size === 0) this.byNetwork.delete(network);
    this.unindex(entry);
  }

  /** Every stored version in `network`. */
  ofNetwork(network: string): StoredEntry[] {
    return [...(this.byNetwork.get(network)?.values() ?? [])];
  }

  /** Every stored version written by `owner`, in every network. */
  ofOwner(owner: string): StoredEntry[] {
    return [...(this.byOwner.get(owner) ?? [])];
  }

  /** Every stored version in every network, filtered by `match`. */
  where(match: (entry: StoredEntry) => boolean): StoredEntry[] {
    const found: StoredEntry[] = [];
    for (const entries of this.byNetwork.values()) for (const entry of entries.values()) if (match(entry)) found.push(entry);
    return found;
  }

  private unindex(entry: StoredEntry): void {
    const owned = this.byOwner.get(entry.owner);
    owned?.delete(entry);
    if (owned?.size === 0) this.byOwner.delete(entry.owner);
  }
}
