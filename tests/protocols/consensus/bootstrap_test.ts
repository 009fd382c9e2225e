// Proves bootstrap mode lasts until the verifier count has held at the threshold for the stability period, and returns when it drops.
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  BOOTSTRAP_INITIAL,
  type BootstrapState,
  challengeRewardMultiplier,
  observeVerifiers,
} from "../../../protocols/consensus/bootstrap.ts";
import { swarmParams } from "../../../protocols/params.ts";

const params = swarmParams({ bootstrapThreshold: 10, bootstrapStabilityMs: 1_000 });

Deno.test("the swarm leaves bootstrap once 10 verifiers have held for the stability period", () => {
  let state = BOOTSTRAP_INITIAL;
  const step = (count: number, atMs: number) => {
    const result = observeVerifiers(state, count, atMs, params);
    state = result.state;
    return result.transition;
  };
  assert.equal(step(5, 0), undefined);
  assert.equal(step(10, 100), undefined);
  assert.equal(step(12, 1_000), undefined, "held only 900 ms");
  assert.deepEqual(step(11, 1_100), {
    from: "bootstrap",
    to: "normal",
    atMs: 1_100,
    activeVerifierCount: 11,
  });
  assert.equal(challengeRewardMultiplier(state), 1);
  assert.deepEqual(step(9, 2_000), {
    from: "normal",
    to: "bootstrap",
    atMs: 2_000,
    activeVerifierCount: 9,
  });
  assert.equal(challengeRewardMultiplier(state), 2);
});

Deno.test("a dip below the threshold restarts the stability clock", () => {
  let state: BootstrapState = BOOTSTRAP_INITIAL;
  for (const [count, atMs] of [[10, 0], [9, 900], [10, 950], [10, 1_900]]) {
    state = observeVerifiers(state, count, atMs, params).state;
  }
  assert.equal(state.bootstrap, true);
  state = observeVerifiers(state, 10, 1_950, params).state;
  assert.equal(state.bootstrap, false);
});

Deno.test("bootstrap never ends without the count holding for the whole period (property)", () => {
  fc.assert(fc.property(
    fc.array(fc.tuple(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 500 })), {
      maxLength: 50,
    }),
    (observations) => {
      let state = BOOTSTRAP_INITIAL;
      let nowMs = 0;
      let aboveSince: number | undefined;
      for (const [count, gap] of observations) {
        nowMs += gap;
        const wasBootstrap = state.bootstrap;
        const { transition, state: next } = observeVerifiers(state, count, nowMs, params);
        if (count >= 10) aboveSince ??= nowMs;
        else aboveSince = undefined;
        if (transition?.to === "normal") {
          assert.ok(wasBootstrap && aboveSince !== undefined && nowMs - aboveSince >= 1_000);
          aboveSince = undefined;
        }
        if (transition?.to === "bootstrap") assert.ok(count < 10);
        state = next;
      }
    },
  ));
});
