/**
 * The transmit-limited broadcast queue: each message is piggybacked on outgoing packets until it
 * has been sent `retransmitMult * ceil(log10(n + 1))` times, enough for an epidemic to reach every
 * member with high probability. Messages sent the fewest times go first (newest first among
 * equals), and a new message about a member replaces any older one about the same member.
 *
 * Messages sit in buckets by transmit count, so filling a packet visits the least-sent messages
 * first without sorting the queue.
 */

interface QueuedBroadcast {
  readonly key: string | undefined;
  readonly bytes: Uint8Array;
  transmits: number;
  live: boolean;
}

/** How many times a broadcast is sent in a cluster of `memberCount` members. */
export function retransmitLimit(retransmitMult: number, memberCount: number): number {
  return retransmitMult * Math.ceil(Math.log10(memberCount + 1));
}

/** A queue of encoded broadcasts, each sent a bounded number of times; see the module comment. */
export class BroadcastQueue {
  /** `buckets[t]` holds the live (and some invalidated) broadcasts sent `t` times, oldest first. */
  private readonly buckets: QueuedBroadcast[][] = [];
  private readonly byKey = new Map<string, QueuedBroadcast>();
  private count = 0;
  /** No queued broadcast is shorter (the shortest ever queued), so a walk stops once less room is left. */
  private shortest = Number.POSITIVE_INFINITY;

  constructor(private readonly retransmitMult: number) {}

  /** Broadcasts still to be sent at least once more. */
  get size(): number {
    return this.count;
  }

  /** Whether a broadcast about `key` is still queued. */
  has(key: string): boolean {
    return this.byKey.has(key);
  }

  /** Queues `bytes`; a pending broadcast with the same `key` is dropped (it is now stale). */
  enqueue(key: string | undefined, bytes: Uint8Array): void {
    if (key !== undefined) {
      const stale = this.byKey.get(key);
      if (stale !== undefined) this.retire(stale);
    }
    const item: QueuedBroadcast = { key, bytes, transmits: 0, live: true };
    if (key !== undefined) this.byKey.set(key, item);
    (this.buckets[0] ??= []).push(item);
    this.count++;
    this.shortest = Math.min(this.shortest, bytes.length);
  }

  /**
   * Takes broadcasts for one packet: as many as fit in `limit` bytes, each costing `overhead`
   * bytes besides its own length, least-transmitted first. Each one taken counts a transmit
   * and leaves the queue once it reaches the retransmit limit for `memberCount` members.
   */
  take(overhead: number, limit: number, memberCount: number): Uint8Array[] {
    const taken: Uint8Array[] = [];
    if (this.count === 0) return taken;
    const maxTransmits = retransmitLimit(this.retransmitMult, memberCount);
    let room = limit;
    const promoted: QueuedBroadcast[] = [];
    for (let transmits = 0; transmits < this.buckets.length && room > overhead && room - overhead >= this.shortest; transmits++) {
      const bucket = this.buckets[transmits];
      if (bucket === undefined || bucket.length === 0) continue;
      const kept: QueuedBroadcast[] = [];
      // Newest first: walk the bucket from its end, then restore its oldest-first order. The walk
      // ends once not even the shortest broadcast fits, so a full packet costs what it took, not
      // the length of the queue (thousands of entries while a large cluster boots).
      let i = bucket.length - 1;
      for (; i >= 0 && room - overhead >= this.shortest; i--) {
        const item = bucket[i] as QueuedBroadcast;
        if (!item.live) continue;
        const cost = item.bytes.length + overhead;
        if (cost > room) {
          kept.push(item);
          continue;
        }
        room -= cost;
        taken.push(item.bytes);
        item.transmits++;
        if (item.transmits >= maxTransmits) this.retire(item);
        else promoted.push(item);
      }
      // The part the walk did not reach stays in front, as it was.
      bucket.length = i + 1;
      for (let k = kept.length - 1; k >= 0; k--) bucket.push(kept[k] as QueuedBroadcast);
    }
    // `promoted` runs newest first; appending it reversed keeps each bucket roughly oldest first.
    for (let i = promoted.length - 1; i >= 0; i--) {
      const item = promoted[i] as QueuedBroadcast;
      (this.buckets[item.transmits] ??= []).push(item);
    }
    return taken;
  }

  /**
   * Counts a copy of the broadcast queued under `key` that came back from another member as
   * `transmits` of its own (the caller decides which news may lose interest this way, and how fast).
   */
  heard(key: string, memberCount: number, transmits: number): void {
    const item = this.byKey.get(key);
    if (item === undefined) return;
    this.retire(item);
    transmits += item.transmits;
    if (transmits >= retransmitLimit(this.retransmitMult, memberCount)) return;
    const copy: QueuedBroadcast = { key, bytes: item.bytes, transmits, live: true };
    this.byKey.set(key, copy);
    (this.buckets[transmits] ??= []).push(copy);
    this.count++;
  }

  private retire(item: QueuedBroadcast): void {
    item.live = false;
    this.count--;
    if (item.key !== undefined && this.byKey.get(item.key) === item) this.byKey.delete(item.key);
  }
}
