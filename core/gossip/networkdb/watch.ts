/**
 * Subscriptions to table changes. Events are queued while NetworkDB changes its state and
 * delivered once the change is complete, so a listener that reads or writes NetworkDB sees a
 * consistent store (and its own writes are queued behind the current batch, never nested).
 * A listener that throws is reported and skipped; it cannot stop NetworkDB or other listeners.
 */
import type { EntryView, WatchEvent, WatchFilter } from "./types.ts";

/** Receives the change events of one subscription. */
export type WatchListener = (event: WatchEvent) => void;

interface Subscription {
  network: string;
  table: string | undefined;
  listener: WatchListener;
  /** Events numbered below this were queued before the subscription and are in its replay. */
  firstEvent: number;
}

interface Pending {
  number: number;
  event: WatchEvent;
}

/** The set of subscriptions and the events waiting to be delivered to them. */
export class Watchers {
  private readonly subscriptions = new Set<Subscription>();
  private pending: Pending[] = [];
  private nextNumber = 0;
  private delivering = false;

  /** `onError` hears of every exception a listener throws. */
  constructor(private readonly onError: (error: unknown, event: WatchEvent) => void) {}

  /**
   * Adds a subscription and hands it `current` (what is visible now) as `create` events;
   * returns its cancel function.
   */
  add(filter: WatchFilter, listener: WatchListener, current: readonly EntryView[]): () => void {
    const subscription: Subscription = { network: filter.network, table: filter.table, listener, firstEvent: this.nextNumber };
    this.subscriptions.add(subscription);
    for (const entry of current) this.call(listener, { kind: "create", entry });
    return () => this.subscriptions.delete(subscription);
  }

  /** Queues the event that turns what readers saw (`before`) into what they see now (`after`). */
  change(before: EntryView | undefined, after: EntryView | undefined): void {
    if (before === undefined && after === undefined) return;
    if (before === undefined) this.queue({ kind: "create", entry: after as EntryView });
    else if (after === undefined) this.queue({ kind: "delete", entry: before });
    else if (before.ltime !== after.ltime || before.owner !== after.owner) this.queue({ kind: "update", entry: after });
  }

  private queue(event: WatchEvent): void {
    this.pending.push({ number: this.nextNumber++, event });
  }

  /** Delivers queued events in order; events queued by listeners meanwhile are delivered too. */
  flush(): void {
    if (this.delivering) return;
    this.delivering = true;
    try {
      while (this.pending.length > 0) {
        const batch = this.pending;
        this.pending = [];
        for (const pending of batch) this.deliver(pending);
      }
    } finally {
      this.delivering = false;
    }
  }

  private deliver({ number, event }: Pending): void {
    for (const subscription of [...this.subscriptions]) {
      if (!this.subscriptions.has(subscription) || number < subscription.firstEvent) continue;
      if (subscription.network !== event.entry.network) continue;
      if (subscription.table !== undefined && subscription.table !== event.entry.table) continue;
      this.call(subscription.listener, event);
    }
  }

  private call(listener: WatchListener, event: WatchEvent): void {
    try {
      listener(event);
    } catch (error) {
      this.onError(error, event);
    }
  }
}
