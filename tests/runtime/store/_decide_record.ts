// Test helper: decide records with plain defaults, for the decide-log, AP and merge tests.
import type { DecideRecord } from "../../../runtime/store/decide_log.ts";

/** A decision on `needId` by `decider`; the other fields default (proposal `<needId>~<decider>`, epoch 0, lamport 1, K 1, fence 1). */
export function decideRecord(
  fields: Pick<DecideRecord, "needId" | "decider"> & Partial<DecideRecord>,
): DecideRecord {
  return {
    proposalId: `${fields.needId}~${fields.decider}`,
    epoch: 0,
    lamport: 1,
    kPlan: 1,
    fence: 1,
    decidedAtMs: 0,
    ...fields,
  };
}
