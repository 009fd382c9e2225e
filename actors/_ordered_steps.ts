/**
 * Work that runs concurrently but takes effect in submission order.
 *
 * The core signs and verifies envelopes concurrently (the waits overlap),
 * yet must publish and apply them in the order they were submitted, so
 * Lamport values, per-sender FIFO and the trace stay exactly as if it had
 * done them one by one. Each step settles whenever its work finishes;
 * {@linkcode OrderedSteps.settle} hands back the steps now ready, in order.
 *
 * @module
 */

/** One piece of submitted work. */
export interface Step<T> {
  settled: boolean;
  value: T | undefined;
}

/** A FIFO of steps released in order once settled. */
export class OrderedSteps<T> {
  #queue: Step<T>[] = [];
  #head = 0;

  /** Steps submitted and not yet released. */
  get pending(): number {
    return this.#queue.length - this.#head;
  }

  /** Submits a step. */
  push(): Step<T> {
    const step: Step<T> = { settled: false, value: undefined };
    this.#queue.push(step);
    return step;
  }

  /** Settles `step` with `value` and returns every step now releasable, in submission order. */
  settle(step: Step<T>, value: T): T[] {
    step.settled = true;
    step.value = value;
    const ready: T[] = [];
    while (this.#head < this.#queue.length && this.#queue[this.#head].settled) {
      ready.push(this.#queue[this.#head++].value as T);
    }
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    return ready;
  }
}
