/**
 * A tiny hand-cranked cluster for NetworkDB unit tests: every node's outbox and cluster
 * broadcasts are delivered at once (or dropped for nodes marked unreachable), and membership
 * is whatever the test says it is.
 */
import { NetworkDb } from "../../../core/gossip/networkdb/networkdb.ts";
import type { NetworkDbConfig } from "../../../core/gossip/networkdb/config.ts";
import type { OutboundMessage } from "../../../core/gossip/networkdb/types.ts";
import { SeededRandom } from "../../../core/common/random.ts";

/** Encodes a string value. */
export const text = (value: string) => new TextEncoder().encode(value);
/** Decodes a value to a string. */
export const str = (value: Uint8Array | undefined) => (value === undefined ? undefined : new TextDecoder().decode(value));

/** NetworkDB nodes wired to each other by direct calls. */
export class Fixture {
  readonly dbs = new Map<string, NetworkDb>();
  readonly delivered: (OutboundMessage & { from: string })[] = [];
  readonly unreachable = new Set<string>();
  now = 0;

  constructor(names: string[], config: Partial<NetworkDbConfig> = {}, seed = 1) {
    const random = new SeededRandom(seed);
    for (const name of names) this.dbs.set(name, new NetworkDb({ self: name, random: random.fork(), now: 0, config }));
    for (const a of names) for (const b of names) if (a !== b) this.db(a).memberAlive(b);
  }

  db(name: string): NetworkDb {
    const db = this.dbs.get(name);
    if (db === undefined) throw new Error(`no node ${name}`);
    return db;
  }

  /** Delivers outboxes and cluster broadcasts until nothing is left to send. */
  settle(): void {
    for (let round = 0; round < 100; round++) {
      let moved = false;
      for (const [name, db] of this.dbs) {
        for (const message of db.takeOutbox()) {
          moved = true;
          if (this.unreachable.has(name) || this.unreachable.has(message.to)) continue;
          this.delivered.push({ ...message, from: name });
          this.dbs.get(message.to)?.notifyMsg(message.bytes);
        }
        if (this.unreachable.has(name)) continue;
        for (const broadcast of db.getBroadcasts(0, 64 * 1024)) {
          moved = true;
          for (const [other, peer] of this.dbs) if (other !== name && !this.unreachable.has(other)) peer.notifyMsg(broadcast);
        }
      }
      if (!moved) return;
    }
    throw new Error("fixture did not settle");
  }

  /** Advances time by `ms` in gossip-interval steps, delivering as it goes. */
  run(ms: number, step = 200): void {
    for (let t = 0; t < ms; t += step) {
      this.now += step;
      for (const db of this.dbs.values()) db.tick(this.now);
      this.settle();
    }
  }
}
