// Proves capsule packages survive their JSON form unchanged and that malformed JSON packages are refused with E_CAPSULE_MALFORMED.
import assert from "node:assert/strict";
import { createCapsule } from "../../policies/capsule.ts";
import { capsuleFromJson, capsuleToJson } from "../../policies/capsule_json.ts";
import { CapsuleError } from "../../policies/errors.ts";
import { baseEngine, TestKeys } from "./_helpers.ts";

const keys = new TestKeys();
const pkg = await createCapsule(await baseEngine(), {
  signer: await keys.signer("did:key:z6MkAuthor"),
  activationEpoch: 2,
});

Deno.test("a package read back from its JSON text equals the package", () => {
  const text = JSON.stringify(capsuleToJson(pkg));
  assert.deepEqual(capsuleFromJson(JSON.parse(text)), pkg);
});

Deno.test("malformed JSON packages are refused with E_CAPSULE_MALFORMED", () => {
  const json = capsuleToJson(pkg);
  for (
    const bad of [
      null,
      "capsule",
      { ...json, signature: 7 },
      { ...json, signature: "not base64!" },
      { ...json, policyText: 1 },
      { ...json, body: { ...json.body, v: 2 } },
      { ...json, body: { ...json.body, extra: true } },
    ]
  ) {
    assert.throws(
      () => capsuleFromJson(bad),
      (error) => error instanceof CapsuleError && error.code === "E_CAPSULE_MALFORMED",
      JSON.stringify(bad)?.slice(0, 60),
    );
  }
});
