/**
 * Who can reach whom: partitions, isolated nodes, one-way blocks and crashed nodes. Kept apart
 * from the network so that several virtual networks can share one (a protocol with a lossy
 * packet path and a reliable stream path, as gossip has, sees the same partitions and crashes on
 * both) while each keeps its own latency and loss.
 */
import type { DropReason } from "./stats.ts";

/** The map key of the directed link `from` -> `to`. */
export const linkKey = (from: string, to: string) => `${from}\u0000${to}`;

/** The fault state of one simulated cluster; see the module comment. */
export class NetworkFaults {
  /** Group index per node while a partition is in force; unlisted nodes share group -1. */
  private groups: Map<string, number> | undefined;
  private readonly isolated = new Set<string>();
  private readonly blocked = new Set<string>();
  private readonly crashed = new Set<string>();
  private readonly incarnations = new Map<string, number>();

  /**
   * Splits the cluster: nodes talk only within their group. Nodes in no group form one more
   * group together. Replaces any previous partition; blocks and isolation stay.
   */
  partition(groups: string[][]): void {
    const index = new Map<string, number>();
    groups.forEach((group, i) => {
      for (const id of group) {
        if (index.has(id)) throw new RangeError(`partition: ${id} is in more than one group`);
        index.set(id, i);
      }
    });
    this.groups = index;
  }

  /** Cuts node `id` off from every other node, both directions, until `heal`. */
  isolate(id: string): void {
    this.isolated.add(id);
  }

  /** Blocks traffic from `from` to `to` only (an asymmetric fault); the reverse still flows. */
  block(from: string, to: string): void {
    this.blocked.add(linkKey(from, to));
  }

  /** Lifts one `block(from, to)`. */
  unblock(from: string, to: string): void {
    this.blocked.delete(linkKey(from, to));
  }

  /** Ends every partition, isolation and block. Crashed nodes stay crashed. */
  heal(): void {
    this.groups = undefined;
    this.isolated.clear();
    this.blocked.clear();
  }

  /** Crashes node `id` and ends its incarnation: traffic in flight to or from it is lost. */
  crash(id: string): void {
    this.crashed.add(id);
    this.incarnations.set(id, this.incarnation(id) + 1);
  }

  /** Brings a crashed node back; it receives only traffic sent after this call. */
  restart(id: string): void {
    this.crashed.delete(id);
  }

  /** Whether node `id` is crashed. */
  isCrashed(id: string): boolean {
    return this.crashed.has(id);
  }

  /** Counts crashes of node `id`; a message is void when either end's incarnation changed in flight. */
  incarnation(id: string): number {
    return this.incarnations.get(id) ?? 0;
  }

  /** Why a message from `from` to `to` could not pass now, or undefined when it could. */
  blockReason(from: string, to: string): DropReason | undefined {
    if (this.crashed.has(from) || this.crashed.has(to)) return "crash";
    if (from === to) return undefined;
    if (this.isolated.has(from) || this.isolated.has(to)) return "partition";
    if (this.blocked.has(linkKey(from, to))) return "partition";
    if (this.groups && (this.groups.get(from) ?? -1) !== (this.groups.get(to) ?? -1)) return "partition";
    return undefined;
  }
}
