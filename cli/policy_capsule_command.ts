/**
 * `can-swarm policy capsule`: signs a policy capsule with the key of a node
 * data directory (the author), after the policy passes the conformance
 * suite, and prints or writes its package as JSON. Nodes that trust the
 * author (`--capsule-authors`) install it when it is posted to any node
 * (`POST /policy/capsules`) and switch to it at its activation epoch.
 *
 * @module
 */

import { CapsuleError, capsuleToJson, createCapsule } from "../policies/mod.ts";
import { type CommandSpec, integerFlag, type ParsedFlags, UsageError } from "./args.ts";
import { loadNodeIdentity } from "./node_identity.ts";
import { loadPolicyEngine, POLICY_FLAGS, reportLoadError } from "./policy_command.ts";

/** Flags of `policy capsule`. */
export const POLICY_CAPSULE_SPEC: CommandSpec = {
  name: "policy capsule",
  summary: "Sign a policy capsule as the node of --data-dir; print its package as JSON.",
  flags: {
    ...POLICY_FLAGS,
    "data-dir": {
      type: "string",
      value: "DIR",
      description: "Data directory whose node key signs the capsule (required)",
    },
    "activation-epoch": {
      type: "string",
      value: "N",
      description: "First epoch the capsule may be in force (required)",
    },
    out: { type: "string", value: "FILE", description: "Write the package here (default: stdout)" },
  },
  notes: "Exits 1 when the policy does not load or fails a conformance vector.",
};

/** Runs `policy capsule`. */
export async function policyCapsuleCommand(flags: ParsedFlags): Promise<number> {
  if (typeof flags["data-dir"] !== "string") throw new UsageError("--data-dir DIR is required");
  if (typeof flags["activation-epoch"] !== "string") {
    throw new UsageError("--activation-epoch N is required");
  }
  const activationEpoch = integerFlag(flags, "activation-epoch", 0, 1);
  const { identity } = await loadNodeIdentity(flags["data-dir"]);
  let pkg;
  try {
    const engine = await loadPolicyEngine(flags);
    pkg = await createCapsule(engine, {
      signer: { did: identity.did, sign: (bytes) => identity.sign(bytes) },
      activationEpoch,
    });
  } catch (error) {
    if (error instanceof CapsuleError) {
      console.log(JSON.stringify({ error: error.code, message: error.message }, null, 2));
      return 1;
    }
    return reportLoadError(error);
  }
  const text = JSON.stringify(capsuleToJson(pkg), null, 2);
  if (typeof flags.out === "string") {
    await Deno.writeTextFile(flags.out, text + "\n");
    console.error(`capsule by ${identity.did}, activation epoch ${activationEpoch} → ${flags.out}`);
  } else {
    console.log(text);
  }
  return 0;
}
