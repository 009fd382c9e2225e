// Test fixture: threads in the states economics cares about, built through the real reducer.
import { Driver, NEED_ID, TASK_ID, VERIFIERS } from "../lifecycle/_fixture.ts";
import type { ChallengeState, ThreadState } from "../../../protocols/lifecycle/state.ts";

export { Driver, NEED_ID, TASK_ID, VERIFIERS };

/** A thread whose single task is FINAL: worker `did:worker`, attesters v1..v3. */
export function finalThread(): ThreadState {
  const driver = new Driver();
  driver.toVerified();
  driver.nowMs = 2_000;
  driver.finalize();
  return driver.thread as ThreadState;
}

/** A challenge by `challenger` on commit-1 with a bond of `bond` credits. */
export function challengeOf(challenger: string, bond = 10): ChallengeState {
  return {
    challengeId: "challenge-1",
    challenger,
    taskId: TASK_ID,
    commitId: "commit-1",
    proofType: "OUTPUT_MISMATCH",
    evidence: "bafkreih",
    evidenceBytes: 10,
    bond,
    openedAtMs: 1_000,
    withdrawRequested: false,
    verdict: undefined,
    code: undefined,
  };
}
