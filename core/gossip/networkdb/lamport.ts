/** A Lamport clock: orders NetworkDB's writes across nodes without trusting wall clocks. */
export class LamportClock {
  private current = 0;

  /** The latest time issued or witnessed. */
  get time(): number {
    return this.current;
  }

  /** Issues the time of a new local event. */
  tick(): number {
    this.current += 1;
    return this.current;
  }

  /** Moves past a time seen on the wire, so later local events order after it. */
  witness(time: number): void {
    if (time > this.current) this.current = time;
  }
}
