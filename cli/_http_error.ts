/**
 * The error of a refused HTTP request: a stable code, a sentence-case
 * message, and the HTTP status the API answers with.
 *
 * @module
 */

import { SwarmError } from "../runtime/errors.ts";

/** Raised for bad requests; carries the HTTP status. */
export class HttpApiError extends SwarmError {
  constructor(readonly status: number, code: string, message: string) {
    super(code, message);
  }
}
