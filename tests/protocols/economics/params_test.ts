// Proves the economics parameters have the documented defaults, merge partial tables, and refuse every bad value with E_PARAMS naming it.
import assert from "node:assert/strict";
import {
  ECONOMICS_PARAMS_DEFAULT,
  economicsParams,
  type EconomicsParamsInput,
} from "../../../protocols/economics/params.ts";
import { challengeBond } from "../../../protocols/economics/bonds.ts";
import { ParamsError, swarmParams } from "../../../protocols/params.ts";
import { SwarmError } from "../../../runtime/errors.ts";

Deno.test("the defaults are the numbers of DESIGN.md §5", () => {
  const params = economicsParams();
  assert.deepEqual(params.bountyCaps, { SIMPLE: 10, COMPLEX: 100, CRITICAL: 1_000 });
  assert.deepEqual(params.complexityMultipliers, { SIMPLE: 1, COMPLEX: 2, CRITICAL: 5 });
  assert.equal(challengeBond("SCHEMA_VIOLATION", "SIMPLE", params), 10);
  assert.equal(challengeBond("MISSING_CITATION", "SIMPLE", params), 25);
  assert.equal(challengeBond("SEMANTIC_CONTRADICTION", "COMPLEX", params), 100);
  assert.equal(challengeBond("OUTPUT_MISMATCH", "CRITICAL", params), 500);
  assert.equal(challengeBond("POLICY_BREACH", "SIMPLE", params), 75);
  assert.equal(params.unbondingMs, 7 * 24 * 3600 * 1000);
  assert.equal(params.reputationStart, 0.8);
  assert.equal(params.upheldChallengerShare + params.upheldHonestShare + params.upheldBurnShare, 1);
  assert.equal(params.evidenceBytesMax, 10 * 1024);
  assert.deepEqual(swarmParams().economics, ECONOMICS_PARAMS_DEFAULT);
});

Deno.test("partial tables merge with the defaults, inside swarmParams too", () => {
  const params = swarmParams({
    challengeWindowMs: 5,
    economics: { bountyCaps: { SIMPLE: 20 }, verifierStakeMin: 50 },
  });
  assert.deepEqual(params.economics.bountyCaps, { SIMPLE: 20, COMPLEX: 100, CRITICAL: 1_000 });
  assert.equal(params.economics.verifierStakeMin, 50);
  assert.equal(params.challengeWindowMs, 5);
});

Deno.test("each bad value is refused with E_PARAMS naming it", () => {
  const cases: [EconomicsParamsInput, RegExp][] = [
    [{ orgShareMax: 1.5 }, /orgShareMax/],
    [{ verifyBountyShare: -0.1 }, /verifyBountyShare/],
    [{ upheldBurnShare: 0.2 }, /must be 1/],
    [{ entityMembersMax: 0 }, /entityMembersMax/],
    [{ evidenceBytesMax: 1.5 }, /evidenceBytesMax/],
    [{ unbondingMs: Number.NaN }, /unbondingMs/],
    [{ genesisStake: 20, genesisBalance: 10 }, /genesisStake/],
    [{ heartbeatSlashPerSeverity: 0.5 }, /heartbeatSlashPerSeverity/],
    [{ bountyCaps: { SIMPLE: 500 } }, /SIMPLE <= COMPLEX/],
    [{ bountyCaps: { TRIVIAL: 1 } as never }, /Unknown key economics.bountyCaps.TRIVIAL/],
    [{ challengeBonds: { OUTPUT_MISMATCH: -1 } }, /challengeBonds.OUTPUT_MISMATCH/],
    [{ slashEverything: true } as never, /Unknown parameter economics.slashEverything/],
    [{ policySlashBase: 0.9 }, /policySlashBase/],
  ];
  for (const [input, message] of cases) {
    assert.throws(() => economicsParams(input), (error: unknown) => {
      assert.ok(error instanceof SwarmError);
      assert.equal(error.code, "E_PARAMS");
      assert.match(error.message, message);
      return true;
    });
  }
  assert.throws(() => swarmParams({ needExpiryGraceMs: -1 }), ParamsError);
  assert.throws(
    () => swarmParams({ needExpiryGraceMs: 5_000, decideRetentionMs: 4_999 }),
    /decideRetentionMs must be >= needExpiryGraceMs \(5000\), got 4999/,
  );
  assert.equal(
    swarmParams({ needExpiryGraceMs: 5_000, decideRetentionMs: 5_000 }).decideRetentionMs,
    5_000,
  );
  assert.throws(
    () => swarmParams({ economics: { reputationStart: 2 } }),
    /economics.reputationStart must be a number in \[0, 1\], got 2/,
  );
});
