/**
 * `can-swarm bench`: runs the runtime benchmarks and prints their JSON.
 *
 * @module
 */

import { type CommandSpec, integerFlag, type ParsedFlags } from "../../cli/args.ts";
import { runRuntimeBench, RUNTIME_BENCH_DEFAULT } from "./runtime_bench.ts";

/** Flags of `bench`. */
export const BENCH_SPEC: CommandSpec = {
  name: "bench",
  summary: "Measure the runtime against bare baselines and print JSON.",
  flags: {
    messages: {
      type: "string",
      value: "N",
      description: "Messages per throughput run",
      default: String(RUNTIME_BENCH_DEFAULT.messages),
    },
    asks: {
      type: "string",
      value: "N",
      description: "Asks in the latency run",
      default: String(RUNTIME_BENCH_DEFAULT.asks),
    },
    repetitions: {
      type: "string",
      value: "N",
      description: "Repetitions (best is kept)",
      default: String(RUNTIME_BENCH_DEFAULT.repetitions),
    },
  },
};

/** Runs `bench`; resolves with the exit code. */
export async function benchCommand(flags: ParsedFlags): Promise<number> {
  const report = await runRuntimeBench({
    messages: integerFlag(flags, "messages", RUNTIME_BENCH_DEFAULT.messages, 1_000),
    asks: integerFlag(flags, "asks", RUNTIME_BENCH_DEFAULT.asks, 100),
    repetitions: integerFlag(flags, "repetitions", RUNTIME_BENCH_DEFAULT.repetitions, 1, 100),
  });
  console.log(JSON.stringify(report, null, 2));
  return 0;
}
