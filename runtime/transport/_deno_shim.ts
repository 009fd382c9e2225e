/**
 * Gives Deno's `BroadcastChannel` the `ref`/`unref` methods of Node.js.
 *
 * libp2p's lock library (mortice) creates a BroadcastChannel and calls
 * `unref()` on it so it does not keep the process alive. Deno lacks the
 * method, so without this shim a Deno process running libp2p never exits on
 * its own after `stop()`. Deno keeps the channel's reference state behind an
 * internal symbol described `refBroadcastChannel`; the shim calls it. Import
 * this module before anything that imports libp2p.
 *
 * @module
 */

interface RefableChannel {
  ref?: () => void;
  unref?: () => void;
}

function installBroadcastChannelUnref(): void {
  if (typeof BroadcastChannel === "undefined") return;
  const prototype = BroadcastChannel.prototype as unknown as
    & RefableChannel
    & Record<symbol, unknown>;
  if (typeof prototype.unref === "function") return;
  const refSymbol = Object.getOwnPropertySymbols(prototype).find((symbol) =>
    symbol.description === "refBroadcastChannel"
  );
  if (refSymbol === undefined) return;
  const setRef = (channel: object, keep: boolean) =>
    (channel as Record<symbol, (keep: boolean) => void>)[refSymbol](keep);
  Object.defineProperty(prototype, "unref", {
    value: function unref(this: object) {
      setRef(this, false);
    },
    configurable: true,
    writable: true,
  });
  Object.defineProperty(prototype, "ref", {
    value: function ref(this: object) {
      setRef(this, true);
    },
    configurable: true,
    writable: true,
  });
}

installBroadcastChannelUnref();
