/**
 * How NetworkDB regards every other node, as told by the membership layer, and since when.
 * A node that is not alive keeps its state (hidden) until `nodeReapTimeout` after `since`.
 */
import type { PeerStatus } from "./types.ts";

/** A node's status and since when it holds. */
export interface PeerState {
  status: PeerStatus;
  since: number;
}

/** The status of every node NetworkDB has heard of. */
export class PeerTable {
  private readonly states = new Map<string, PeerState>();

  /** The state of `node`, if it was ever heard of. */
  get(node: string): PeerState | undefined {
    return this.states.get(node);
  }

  /** True when membership reports `node` alive. */
  isAlive(node: string): boolean {
    return this.states.get(node)?.status === "alive";
  }

  /** How many nodes membership reports alive. */
  aliveCount(): number {
    let alive = 0;
    for (const state of this.states.values()) if (state.status === "alive") alive += 1;
    return alive;
  }

  /** Records `status` for `node` from `now` on. */
  set(node: string, status: PeerStatus, now: number): void {
    this.states.set(node, { status, since: now });
  }

  /** Notes a node seen only through its entries or records, so it is reaped if it never shows up. */
  noteSeen(node: string, now: number): void {
    if (!this.states.has(node)) this.states.set(node, { status: "unknown", since: now });
  }

  /** True when `node`'s state was reaped and it has not come back since. */
  isReaped(node: string): boolean {
    return this.states.get(node)?.status === "reaped";
  }

  /** Nodes that are not alive (nor already reaped) and have not been since before `cutoff`. */
  goneSince(cutoff: number): string[] {
    return this.where((state) => state.status !== "alive" && state.status !== "reaped" && state.since <= cutoff);
  }

  /** Forgets nodes reaped before `cutoff`: by then no copy of their state should circulate. */
  forgetReapedBefore(cutoff: number): void {
    for (const node of this.where((state) => state.status === "reaped" && state.since <= cutoff)) this.states.delete(node);
  }

  private where(match: (state: PeerState) => boolean): string[] {
    return [...this.states].filter(([, state]) => match(state)).map(([node]) => node);
  }
}
