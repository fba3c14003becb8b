/**
 * A binary min-heap ordered by a caller-supplied comparison. The virtual clock keeps its timers
 * here, so the next due timer is found in O(log n) however many thousands are pending.
 */

/** A min-heap: `pop()` returns the smallest item according to `less`. */
export class MinHeap<T> {
  private readonly items: T[] = [];

  /** `less(a, b)` is true when `a` must come out before `b`; it must be a strict total order. */
  constructor(private readonly less: (a: T, b: T) => boolean) {}

  /** Number of items held. */
  get size(): number {
    return this.items.length;
  }

  /** The smallest item without removing it, or `undefined` when empty. */
  peek(): T | undefined {
    return this.items[0];
  }

  /** Adds an item. */
  push(item: T): void {
    this.items.push(item);
    this.siftUp(this.items.length - 1);
  }

  /** Removes and returns the smallest item, or `undefined` when empty. */
  pop(): T | undefined {
    const top = this.items[0];
    const last = this.items.pop();
    if (this.items.length > 0 && last !== undefined) {
      this.items[0] = last;
      this.siftDown(0);
    }
    return top;
  }

  private at(index: number): T {
    return this.items[index] as T;
  }

  private swap(i: number, j: number): void {
    const item = this.at(i);
    this.items[i] = this.at(j);
    this.items[j] = item;
  }

  private siftUp(index: number): void {
    let child = index;
    while (child > 0) {
      const parent = (child - 1) >> 1;
      if (!this.less(this.at(child), this.at(parent))) return;
      this.swap(child, parent);
      child = parent;
    }
  }

  private siftDown(index: number): void {
    let parent = index;
    const size = this.items.length;
    for (;;) {
      const left = 2 * parent + 1;
      const right = left + 1;
      let smallest = parent;
      if (left < size && this.less(this.at(left), this.at(smallest))) smallest = left;
      if (right < size && this.less(this.at(right), this.at(smallest))) smallest = right;
      if (smallest === parent) return;
      this.swap(parent, smallest);
      parent = smallest;
    }
  }
}
