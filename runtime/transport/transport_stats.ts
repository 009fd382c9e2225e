/**
 * Counters of a network transport: frames sent, delivered, lost, refused,
 * and invalid frames by error code. Operators read them in status lines;
 * tests assert on them.
 *
 * @module
 */

/** Names of the transport counters. */
export type TransportCounter =
  | "directSent"
  | "directDelivered"
  | "directLost"
  | "topicSent"
  | "topicDelivered"
  | "publishFailures"
  | "invalidFrames"
  | "floodDropped"
  | "bans"
  | "dialFailures"
  | "helloFailures"
  | "foreignPeers"
  | "relayedStreams"
  | "relayFailures"
  | "deliveryErrors"
  | "topicReordered"
  | "topicGapsSkipped"
  | "topicUnheard";

/** Counters of one transport. */
export class TransportStats {
  readonly #counters = new Map<TransportCounter, number>();
  readonly #codes = new Map<string, number>();

  /** Adds `by` to a counter and returns its new value. */
  count(counter: TransportCounter, by = 1): number {
    const value = (this.#counters.get(counter) ?? 0) + by;
    this.#counters.set(counter, value);
    return value;
  }

  /** Counts an invalid frame by its error code. */
  countCode(code: string): void {
    this.#codes.set(code, (this.#codes.get(code) ?? 0) + 1);
  }

  /** The value of a counter. */
  get(counter: TransportCounter): number {
    return this.#counters.get(counter) ?? 0;
  }

  /** Every counter, and invalid frames by code. */
  snapshot(): { counters: Record<string, number>; invalidByCode: Record<string, number> } {
    return {
      counters: Object.fromEntries(this.#counters),
      invalidByCode: Object.fromEntries(this.#codes),
    };
  }
}
