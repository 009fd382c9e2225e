/**
 * The bootstrap monitor: watches the number of active verifiers and moves
 * the node in and out of bootstrap mode (K = 1, doubled challenge rewards)
 * by the rule of `protocols/consensus/bootstrap.ts`, reporting every
 * transition.
 *
 * @module
 */

import type { ActorRef, Behavior } from "../runtime/actor.ts";
import {
  BOOTSTRAP_INITIAL,
  type BootstrapState,
  type BootstrapTransition,
  observeVerifiers,
} from "../protocols/consensus/bootstrap.ts";
import type { SwarmParams } from "../protocols/params.ts";
import type { CoreMessage } from "./swarm_messages.ts";

/** Settings of a bootstrap monitor. */
export interface BootstrapMonitorConfig {
  readonly core: ActorRef<CoreMessage>;
  readonly params: SwarmParams;
  /** The current number of active verifiers. */
  readonly activeVerifierCount: () => number;
  /** How often to look. Default 60,000 ms. */
  readonly checkIntervalMs?: number;
  /** Told about each transition (the CLI prints them). */
  readonly onTransition?: (transition: BootstrapTransition) => void;
}

/** Messages of the monitor. */
export type BootstrapMonitorMessage =
  | { readonly type: "check" }
  | { readonly type: "state"; readonly replyTo: ActorRef<BootstrapState> };

/** Makes a bootstrap monitor behaviour. */
export function bootstrapMonitor(
  config: BootstrapMonitorConfig,
): Behavior<BootstrapMonitorMessage> {
  let state = BOOTSTRAP_INITIAL;
  const intervalMs = config.checkIntervalMs ?? 60_000;
  return {
    preStart(ctx) {
      ctx.self.tell({ type: "check" });
    },
    receive(ctx, message) {
      if (message.type === "state") return void message.replyTo.tell(state);
      const observed = observeVerifiers(
        state,
        config.activeVerifierCount(),
        ctx.nowMs(),
        config.params,
      );
      state = observed.state;
      if (observed.transition !== undefined) {
        ctx.log.info("bootstrap mode changed", { ...observed.transition });
        config.onTransition?.(observed.transition);
        config.core.tell({ type: "set-bootstrap", bootstrap: state.bootstrap });
      }
      ctx.schedule(intervalMs, { type: "check" }, { key: "check" });
    },
  };
}
