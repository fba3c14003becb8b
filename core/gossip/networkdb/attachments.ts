/**
 * Who is attached to which network: the newest join or leave record per (node, network).
 * Leave records are kept until their reap time so a stale join, or an entry written under an
 * earlier join, is recognised as the past and rejected.
 */
import type { AttachmentRecord } from "./types.ts";

/** A stored attachment record; leave records carry the time they may be forgotten. */
export interface StoredAttachment extends AttachmentRecord {
  reapAt: number | null;
}

/** The attachment records this node knows, indexed by network then node. */
export class AttachmentTable {
  private readonly byNetwork = new Map<string, Map<string, StoredAttachment>>();

  /** The record of `node` for `network`, if any. */
  get(node: string, network: string): StoredAttachment | undefined {
    return this.byNetwork.get(network)?.get(node);
  }

  /** True when the newest record says `node` is attached to `network`. */
  isAttached(node: string, network: string): boolean {
    return this.get(node, network)?.joined === true;
  }

  /** Stores `record`, replacing what was known for its (node, network). */
  set(record: AttachmentRecord, reapAt: number | null): void {
    let nodes = this.byNetwork.get(record.network);
    if (nodes === undefined) this.byNetwork.set(record.network, (nodes = new Map()));
    nodes.set(record.node, { node: record.node, network: record.network, ltime: record.ltime, joined: record.joined, reapAt });
  }

  /** Nodes whose newest record for `network` is a join. */
  attachedTo(network: string): string[] {
    const nodes = this.byNetwork.get(network);
    if (nodes === undefined) return [];
    return [...nodes.values()].filter((record) => record.joined).map((record) => record.node);
  }

  /** Every record for `network` (joins and leaves). */
  ofNetwork(network: string): StoredAttachment[] {
    return [...(this.byNetwork.get(network)?.values() ?? [])];
  }

  /** Every record of `node`. */
  ofNode(node: string): StoredAttachment[] {
    const records: StoredAttachment[] = [];
    for (const nodes of this.byNetwork.values()) {
      const record = nodes.get(node);
      if (record !== undefined) records.push(record);
    }
    return records;
  }

  /** Every record known. */
  all(): StoredAttachment[] {
    return [...this.byNetwork.values()].flatMap((nodes) => [...nodes.values()]);
  }

  /** Forgets `node` entirely. */
  removeNode(node: string): void {
    for (const [network, nodes] of this.byNetwork) {
      nodes.delete(node);
      if (nodes.size === 0) this.byNetwork.delete(network);
    }
  }

  /** Forgets leave records whose reap time has come. */
  reap(now: number): void {
    for (const [network, nodes] of this.byNetwork) {
      for (const [node, record] of nodes) if (record.reapAt !== null && record.reapAt <= now) nodes.delete(node);
      if (nodes.size === 0) this.byNetwork.delete(network);
    }
  }
}
