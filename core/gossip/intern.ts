/**
 * One shared copy of each member name and address decoded from the wire. Every member's name
 * arrives in many packets (each alive, suspect and dead message, every push-pull), and without
 * sharing each member record would pin its own decoded copies: in a cluster of n nodes that is
 * 2n strings per node where n suffice, and in a simulation of n nodes in one process, 2n² where
 * n suffice.
 */

/** A bounded string pool: `intern` returns the pooled copy of an equal string, pooling it first if new. */
export class StringPool {
  private readonly pooled = new Map<string, string>();

  /**
   * `capacity` bounds what a stream of distinct strings can pin; when full the pool starts over
   * (strings handed out earlier stay valid, they are just no longer shared with later ones).
   */
  constructor(private readonly capacity: number) {}

  /** Strings currently pooled. */
  get size(): number {
    return this.pooled.size;
  }

  /** The pooled string equal to `value`. */
  intern(value: string): string {
    const pooled = this.pooled.get(value);
    if (pooled !== undefined) return pooled;
    if (this.pooled.size >= this.capacity) this.pooled.clear();
    this.pooled.set(value, value);
    return value;
  }
}
