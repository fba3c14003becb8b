/**
 * ReadIndex bookkeeping on the leader. A read arrives with a caller-chosen context (unique per
 * read); the leader notes its commit index, sends a heartbeat round carrying the context, and
 * once a majority echoes it back it knows it was still leader when the read arrived, so any
 * read served at or after that commit index is linearizable. Acknowledging a later read also
 * confirms every earlier one.
 */
import type { Message, NodeId } from "./types.ts";

/** A read waiting for its heartbeat quorum. */
export interface PendingRead {
  /** The commit index when the read arrived: it may be served once this is applied. */
  index: number;
  /** The original request (its sender gets the answer). */
  request: Message;
  /** Nodes that acknowledged a heartbeat carrying this context. */
  acks: Set<NodeId>;
}

/** Key for a context: reads are matched by the bytes of their context. */
function contextKey(context: Uint8Array): string {
  return Buffer.from(context.buffer, context.byteOffset, context.byteLength).toString("hex");
}

/** Pending reads in arrival order. */
export class ReadOnlyQueue {
  private readonly pending = new Map<string, PendingRead>();
  private readonly order: string[] = [];

  /** Registers a read at commit index `index`; a repeated context is ignored. */
  add(index: number, request: Message): void {
    const key = contextKey(request.context ?? new Uint8Array());
    if (this.pending.has(key)) return;
    this.pending.set(key, { index, request, acks: new Set() });
    this.order.push(key);
  }

  /** Records `from`'s acknowledgement of `context`; returns who has acknowledged it, if it is pending. */
  recordAck(from: NodeId, context: Uint8Array): ReadonlySet<NodeId> | undefined {
    const read = this.pending.get(contextKey(context));
    if (read === undefined) return undefined;
    read.acks.add(from);
    return read.acks;
  }

  /** Removes and returns every read up to and including the one with `context`. */
  release(context: Uint8Array): PendingRead[] {
    const key = contextKey(context);
    const at = this.order.indexOf(key);
    if (at < 0) return [];
    const keys = this.order.splice(0, at + 1);
    const released = keys.map((k) => this.pending.get(k) as PendingRead);
    for (const k of keys) this.pending.delete(k);
    return released;
  }

  /** The context of the newest pending read, to piggyback on heartbeats. */
  lastContext(): Uint8Array | undefined {
    const key = this.order[this.order.length - 1];
    return key === undefined ? undefined : this.pending.get(key)?.request.context;
  }

  /** Drops every pending read (leadership was lost; their senders time out and retry). */
  reset(): void {
    this.pending.clear();
    this.order.length = 0;
  }
}
