// Test helper: runs the CLI (main.ts) in a child process with the given permissions and captures its output.

/** Path of the CLI's entry point. */
export const MAIN = new URL("../../main.ts", import.meta.url).pathname;

/** What a CLI run printed and how it exited. */
export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `deno run <permissions> main.ts <args>` and waits for it. */
export async function runCli(
  permissions: readonly string[],
  args: readonly string[],
): Promise<CliRun> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...permissions, MAIN, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

/** Polls `probe` (errors count as "not yet") until it gives a value, or throws after `timeoutMs`. */
export async function until<T>(probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error("timed out waiting");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
