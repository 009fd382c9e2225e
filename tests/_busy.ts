// Test helper: keeps this process busy, as a node busy with other work is, so no timer or I/O runs meanwhile.

/** Keeps this process busy (no timer, no I/O callback runs) for `ms`. */
export function busyFor(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // other work
  }
}
