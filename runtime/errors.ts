/**
 * Typed errors shared by every layer of CAN Swarm.
 *
 * Each error carries a stable machine-readable `code` (for counting, matching
 * and wire reporting) and a sentence-case message that names the offending
 * value, so operators can act on it without reading the source.
 *
 * @module
 */

/** Base class of every error CAN Swarm raises on purpose. */
export class SwarmError extends Error {
  /** Stable identifier such as `E_ASK_TIMEOUT`; never changes between releases. */
  readonly code: string;

  /**
   * @example
   * ```ts
   * throw new SwarmError("E_EXAMPLE", "Cannot accept value: must be > 0, got 0");
   * ```
   */
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** Raised when an internal invariant does not hold; assertions stay on in production. */
export class AssertionFailed extends SwarmError {
  constructor(message: string) {
    super("E_ASSERTION", message);
  }
}

/**
 * Checks an invariant and throws {@linkcode AssertionFailed} when it is false.
 *
 * @example
 * ```ts
 * assert(capacity > 0, `Mailbox capacity must be > 0, got ${capacity}`);
 * ```
 */
export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AssertionFailed(message);
}

/** Returns the stable code of an error, or `E_UNKNOWN` for foreign errors. */
export function errorCode(error: unknown): string {
  return error instanceof SwarmError ? error.code : "E_UNKNOWN";
}

/** Renders any thrown value as a one-line message for logs and events. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
