/**
 * Checks shared by the verb handlers (private to the lifecycle).
 *
 * @module
 */

import { ProtocolError } from "./errors.ts";
import type { LifecycleMessage } from "./payloads.ts";
import type { LifecycleView } from "./state.ts";

/** Bounty caps by class, and a deadline far enough for the escrow to cover the challenge windows. */
export function checkBounty(need: LifecycleMessage<"NEED">["payload"], view: LifecycleView): void {
  const economics = view.params.economics;
  const bountyClass = need.bountyClass ?? "SIMPLE";
  const cap = economics.bountyCaps[bountyClass];
  if (need.bounty > cap) {
    throw new ProtocolError(
      "E_BOUNTY_CAP",
      `NEED ${need.needId} offers a bounty of ${need.bounty}, the ${bountyClass} cap is ${cap}`,
    );
  }
  const holdMs = economics.escrowChallengeWindows * view.params.challengeWindowMs;
  if (need.deadlineMs - view.nowMs < holdMs) {
    throw new ProtocolError(
      "E_ESCROW_WINDOW",
      `NEED ${need.needId} deadline ${need.deadlineMs} leaves less than the ${holdMs} ms its escrow must be held`,
    );
  }
}

/** A pinned committee: distinct active verifiers, at least one. */
export function checkCommittee(
  committee: readonly string[],
  view: LifecycleView,
  what: string,
): readonly string[] {
  if (committee.length === 0 || new Set(committee).size !== committee.length) {
    throw new ProtocolError(
      "E_COMMITTEE_INVALID",
      `${what} pins a committee that is empty or lists a member twice`,
    );
  }
  const outsider = committee.find((member) => !view.activeVerifiers.has(member));
  if (outsider !== undefined) {
    throw new ProtocolError(
      "E_COMMITTEE_INVALID",
      `${what} pins ${outsider} on its committee, not an active verifier`,
    );
  }
  return committee;
}
