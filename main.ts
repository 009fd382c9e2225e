/**
 * The CAN Swarm command line.
 *
 *   can-swarm run node | run swarm | run chatter | sim | chaos | replay | identity | bench | policy check
 *             | policy eval | policy capsule | plan export | plan import | plan verify | help
 *
 * Every command takes `--help`. A bad command line prints a clear error and
 * exits with code 2; a failed run exits with 1.
 *
 * @module
 */

import {
  type CommandSpec,
  helpText,
  parseCommandLine,
  type ParsedFlags,
  UsageError,
} from "./cli/args.ts";
import { CHAOS_SPEC, chaosCommand } from "./cli/chaos_command.ts";
import { IDENTITY_SPEC, identityCommand } from "./cli/node_identity.ts";
import {
  PLAN_EXPORT_SPEC,
  PLAN_IMPORT_SPEC,
  PLAN_VERIFY_SPEC,
  planExport,
  planImport,
  planVerify,
} from "./cli/plan_command.ts";
import { RUN_NODE_SPEC, runNode } from "./cli/run_node.ts";
import { RUN_SWARM_SPEC, runSwarm } from "./cli/run_swarm.ts";
import { RUN_CHATTER_SPEC, runChatter } from "./cli/run_chatter.ts";
import { REPLAY_SPEC, replayCommand } from "./cli/replay_command.ts";
import { SIM_SPEC, simCommand } from "./cli/sim_command.ts";
import {
  POLICY_CHECK_SPEC,
  POLICY_EVAL_SPEC,
  policyCheckCommand,
  policyEvalCommand,
} from "./cli/policy_command.ts";
import { POLICY_CAPSULE_SPEC, policyCapsuleCommand } from "./cli/policy_capsule_command.ts";
import { BENCH_SPEC, benchCommand } from "./tools/bench/bench_command.ts";
import { errorMessage } from "./runtime/errors.ts";

/** The CLI's version, from deno.json. */
export const VERSION = "0.1.0";

interface Command {
  readonly spec: CommandSpec;
  readonly run: (flags: ParsedFlags, positionals: string[]) => Promise<number>;
}

const COMMANDS: Record<string, Command> = {
  "run node": { spec: RUN_NODE_SPEC, run: runNode },
  "run swarm": { spec: RUN_SWARM_SPEC, run: runSwarm },
  "run chatter": { spec: RUN_CHATTER_SPEC, run: runChatter },
  sim: { spec: SIM_SPEC, run: simCommand },
  chaos: { spec: CHAOS_SPEC, run: chaosCommand },
  replay: { spec: REPLAY_SPEC, run: replayCommand },
  identity: { spec: IDENTITY_SPEC, run: identityCommand },
  bench: { spec: BENCH_SPEC, run: benchCommand },
  "policy check": { spec: POLICY_CHECK_SPEC, run: policyCheckCommand },
  "policy eval": { spec: POLICY_EVAL_SPEC, run: policyEvalCommand },
  "policy capsule": { spec: POLICY_CAPSULE_SPEC, run: policyCapsuleCommand },
  "plan export": { spec: PLAN_EXPORT_SPEC, run: planExport },
  "plan import": { spec: PLAN_IMPORT_SPEC, run: planImport },
  "plan verify": { spec: PLAN_VERIFY_SPEC, run: planVerify },
};

const OVERVIEW = `CAN Swarm ${VERSION} — an orchestrator-free runtime for verified agent work.

Usage: can-swarm <command> [options]

Commands:
${
  Object.entries(COMMANDS).map(([name, { spec }]) => `  ${name.padEnd(16)}${spec.summary}`).join(
    "\n",
  )
}
  help            Show this overview, or the help of a command: help <command>

Run 'can-swarm <command> --help' for a command's options.`;

/** Finds the command named by the leading arguments. */
function resolveCommand(args: string[]): { command: Command; rest: string[] } | undefined {
  for (const length of [2, 1]) {
    const command = COMMANDS[args.slice(0, length).join(" ")];
    if (command !== undefined) return { command, rest: args.slice(length) };
  }
  return undefined;
}

/** Runs the CLI with `args` and resolves with the process exit code. */
export async function main(args: string[]): Promise<number> {
  if (args.length === 0 || args[0] === "help" || args[0] === "--help" || args[0] === "-h") {
    const topic = args[0] === "help" && args.length > 1 ? resolveCommand(args.slice(1)) : undefined;
    console.log(topic ? helpText(topic.command.spec) : OVERVIEW);
    return 0;
  }
  if (args[0] === "--version" || args[0] === "-V") {
    console.log(VERSION);
    return 0;
  }
  const resolved = resolveCommand(args);
  try {
    if (resolved === undefined) {
      const known = Object.keys(COMMANDS).join(", ");
      throw new UsageError(`Unknown command '${args.slice(0, 2).join(" ")}'. Commands: ${known}`);
    }
    const { flags, positionals } = parseCommandLine(resolved.command.spec, resolved.rest);
    if (flags.help) {
      console.log(helpText(resolved.command.spec));
      return 0;
    }
    return await resolved.command.run(flags, positionals);
  } catch (error) {
    if (error instanceof UsageError) {
      const hint = resolved ? `can-swarm ${resolved.command.spec.name} --help` : "can-swarm help";
      console.error(`error: ${error.message}\nRun '${hint}' for usage.`);
      return 2;
    }
    console.error(`error: ${errorMessage(error)}`);
    return 1;
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
