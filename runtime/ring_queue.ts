/**
 * A growable FIFO ring buffer with O(1) push and shift, used by mailboxes
 * and executors on the hot path (Array#shift is O(n) on large arrays).
 *
 * @module
 */

/** FIFO queue on a power-of-two ring that doubles when full. */
export class RingQueue<T> {
  #items: (T | undefined)[];
  #head = 0;
  #size = 0;
  #mask: number;

  constructor(initialCapacity = 16) {
    let capacity = 16;
    while (capacity < initialCapacity) capacity *= 2;
    this.#items = new Array(capacity);
    this.#mask = capacity - 1;
  }

  /** Number of queued items. */
  get size(): number {
    return this.#size;
  }

  /** Appends an item at the tail. */
  push(item: T): void {
    if (this.#size === this.#items.length) this.#grow();
    this.#items[(this.#head + this.#size) & this.#mask] = item;
    this.#size++;
  }

  /** Removes and returns the head, or undefined when empty. */
  shift(): T | undefined {
    if (this.#size === 0) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head] = undefined;
    this.#head = (this.#head + 1) & this.#mask;
    this.#size--;
    return item;
  }

  /** Returns the head without removing it. */
  peek(): T | undefined {
    return this.#size === 0 ? undefined : this.#items[this.#head];
  }

  /** Removes every item and returns them in FIFO order. */
  drain(): T[] {
    const drained: T[] = [];
    while (this.#size > 0) drained.push(this.shift() as T);
    return drained;
  }

  #grow(): void {
    const capacity = this.#items.length * 2;
    const items = new Array<T | undefined>(capacity);
    for (let index = 0; index < this.#size; index++) {
      items[index] = this.#items[(this.#head + index) & this.#mask];
    }
    this.#items = items;
    this.#head = 0;
    this.#mask = capacity - 1;
  }
}
