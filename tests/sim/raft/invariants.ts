/**
 * The safety properties of Raft (Figure 3 of the paper), checked while a simulation runs.
 * Each check throws at the first violation, naming the nodes, term and index involved.
 */
import type { Entry, NodeId } from "../../../core/raft/types.ts";

/** A node's log as the checks see it: entries in `[firstIndex, lastIndex]` and term lookup. */
export interface LogView {
  firstIndex(): number;
  lastIndex(): number;
  term(index: number): number | undefined;
  slice(lo: number, hi: number, maxBytes: number): Entry[];
}

function sameEntry(a: Entry, b: Entry): boolean {
  if (a.term !== b.term || a.index !== b.index || a.type !== b.type || a.data.length !== b.data.length) return false;
  for (let i = 0; i < a.data.length; i++) if (a.data[i] !== b.data[i]) return false;
  return true;
}

/** Watches a run and throws on the first safety violation. */
export class SafetyMonitor {
  private readonly leaderOfTerm = new Map<number, NodeId>();
  /** The entry applied at each index, by whichever node applied it first. */
  private readonly appliedAt = new Map<number, Entry>();
  private highestApplied = 0;

  /** Election safety (one leader per term) and leader completeness (the new leader holds every applied entry). */
  onLeader(id: NodeId, term: number, log: LogView): void {
    const existing = this.leaderOfTerm.get(term);
    if (existing !== undefined && existing !== id) throw new Error(`election safety: ${existing} and ${id} both lead term ${term}`);
    this.leaderOfTerm.set(term, id);
    for (let index = log.firstIndex(); index <= this.highestApplied; index++) {
      const applied = this.appliedAt.get(index);
      if (applied === undefined) continue;
      if (log.term(index) !== applied.term) {
        throw new Error(`leader completeness: ${id} leads term ${term} without committed entry ${index} (term ${applied.term}); its term there is ${log.term(index)}`);
      }
    }
  }

  /** State machine safety: every node applies the same entry at each index. */
  onApply(id: NodeId, entry: Entry): void {
    const first = this.appliedAt.get(entry.index);
    if (first === undefined) {
      this.appliedAt.set(entry.index, entry);
      this.highestApplied = Math.max(this.highestApplied, entry.index);
    } else if (!sameEntry(first, entry)) {
      throw new Error(`state machine safety: ${id} applied a different entry at index ${entry.index} (term ${entry.term}, first applied term ${first.term})`);
    }
  }

  /** How many distinct indexes were applied somewhere. */
  appliedCount(): number {
    return this.appliedAt.size;
  }

  /** Log matching: where two logs hold an entry of the same index and term, they agree on everything up to it. */
  checkLogMatching(logs: Map<NodeId, LogView>): void {
    const materialized = [...logs].map(([id, log]) => {
      const first = log.firstIndex();
      return { id, first, entries: log.slice(first, log.lastIndex() + 1, Number.POSITIVE_INFINITY) };
    });
    for (let i = 0; i < materialized.length; i++) {
      for (let j = i + 1; j < materialized.length; j++) {
        const a = materialized[i] as (typeof materialized)[number];
        const b = materialized[j] as (typeof materialized)[number];
        const lo = Math.max(a.first, b.first);
        const hi = Math.min(a.first + a.entries.length, b.first + b.entries.length) - 1;
        // Find the highest common index where the terms agree; everything from lo to it must match.
        let top = -1;
        for (let index = hi; index >= lo; index--) {
          if (a.entries[index - a.first]?.term === b.entries[index - b.first]?.term) {
            top = index;
            break;
          }
        }
        for (let index = lo; index <= top; index++) {
          if (!sameEntry(a.entries[index - a.first] as Entry, b.entries[index - b.first] as Entry)) {
            throw new Error(`log matching: ${a.id} and ${b.id} agree at index ${top} but differ at ${index}`);
          }
        }
      }
    }
  }
}
