/**
 * A binary min-heap of timed entries ordered by time, then by insertion
 * sequence, so simultaneous entries come out in the order they went in. It
 * is the simulator's agenda and the runtime's deadline queue.
 *
 * @module
 */

/** Something scheduled at a time. */
export interface QueuedEvent {
  readonly timeNs: bigint;
  readonly sequence: number;
}

/** Min-heap on (timeNs, sequence). */
export class EventQueue<E extends QueuedEvent> {
  #heap: E[] = [];

  /** Number of queued events. */
  get size(): number {
    return this.#heap.length;
  }

  /** Adds an event. */
  push(event: E): void {
    const heap = this.#heap;
    heap.push(event);
    let index = heap.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!before(event, heap[parent])) break;
      heap[index] = heap[parent];
      index = parent;
    }
    heap[index] = event;
  }

  /** The earliest event, without removing it. */
  peek(): E | undefined {
    return this.#heap[0];
  }

  /** Removes every entry matching `predicate` (O(n); for occasional compaction). */
  removeWhere(predicate: (event: E) => boolean): void {
    const kept = this.#heap.filter((event) => !predicate(event));
    this.#heap = [];
    for (const event of kept) this.push(event);
  }

  /** Removes and returns the earliest event. */
  pop(): E | undefined {
    const heap = this.#heap;
    if (heap.length === 0) return undefined;
    const top = heap[0];
    const last = heap.pop() as E;
    if (heap.length === 0) return top;
    let index = 0;
    const length = heap.length;
    for (;;) {
      const left = index * 2 + 1;
      if (left >= length) break;
      const right = left + 1;
      const child = right < length && before(heap[right], heap[left]) ? right : left;
      if (!before(heap[child], last)) break;
      heap[index] = heap[child];
      index = child;
    }
    heap[index] = last;
    return top;
  }
}

function before(left: QueuedEvent, right: QueuedEvent): boolean {
  return left.timeNs < right.timeNs ||
    (left.timeNs === right.timeNs && left.sequence < right.sequence);
}
