/**
 * Amounts of credit. The ledger counts integer micro-credits so that every
 * split, share and slash is exact and the supply invariant can be checked
 * with `===`; payloads and parameters speak credits.
 *
 * @module
 */

import { assert } from "../../runtime/errors.ts";

/** Micro-credits per credit. */
export const MICRO_PER_CREDIT = 1_000_000;

/** Whether `value` is a usable amount: a safe integer >= 0. */
export function isAmount(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

/**
 * Credits to micro-credits, rounded to the nearest micro-credit.
 *
 * @example
 * ```ts
 * toMicro(2.5); // 2_500_000
 * ```
 */
export function toMicro(credits: number): number {
  const micro = Math.round(credits * MICRO_PER_CREDIT);
  assert(isAmount(micro), `Amount of ${credits} credits is not representable in micro-credits`);
  return micro;
}

/** Micro-credits to credits, for display. */
export function toCredits(micro: number): number {
  return micro / MICRO_PER_CREDIT;
}

/**
 * The floor of `share` × `amount`, exact for the shares parameters allow.
 *
 * @example
 * ```ts
 * shareOf(1_000_001, 0.5); // 500_000
 * ```
 */
export function shareOf(amount: number, share: number): number {
  assert(isAmount(amount), `Share base must be an amount, got ${amount}`);
  assert(share >= 0 && share <= 1, `Share must be in [0, 1], got ${share}`);
  return Math.min(amount, Math.floor(amount * share));
}

/**
 * Splits `amount` into `parts` equal integer shares; the remainder goes one
 * micro-credit each to the first shares, so the parts always sum to `amount`.
 *
 * @example
 * ```ts
 * splitEqually(10, 3); // [4, 3, 3]
 * ```
 */
export function splitEqually(amount: number, parts: number): number[] {
  assert(isAmount(amount), `Split amount must be an amount, got ${amount}`);
  assert(Number.isSafeInteger(parts) && parts > 0, `Split parts must be > 0, got ${parts}`);
  const base = Math.floor(amount / parts);
  const remainder = amount - base * parts;
  return Array.from({ length: parts }, (_, index) => base + (index < remainder ? 1 : 0));
}
