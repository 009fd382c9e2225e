/**
 * A `run node` child process driven by `run chatter --processes` and by the
 * multi-process tests: started with `--json`, its stdout lines are parsed
 * as they arrive, so the driver can wait for a status that satisfies a
 * predicate, kill the process (SIGKILL), or stop it (SIGTERM) and check it
 * exits on its own.
 *
 * @module
 */

const MAIN = new URL("../main.ts", import.meta.url).pathname;
const CONFIG = new URL("../deno.json", import.meta.url).pathname;
/** What a node process may do: its files, the network, and listing interfaces (mDNS, 0.0.0.0). */
const NODE_PERMISSIONS = [
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-net",
  "--allow-sys=networkInterfaces",
];

/** One JSON line printed by a node. */
export type NodeLine = Record<string, unknown> & { event: string; node: string };

/** A running node process. */
export class NodeProcess {
  readonly nodeId: string;
  readonly lines: NodeLine[] = [];
  readonly stderr: string[] = [];
  readonly #child: Deno.ChildProcess;
  readonly #done: Promise<Deno.CommandStatus>;
  readonly #pumps: Promise<void>[];

  private constructor(nodeId: string, child: Deno.ChildProcess) {
    this.nodeId = nodeId;
    this.#child = child;
    this.#pumps = [
      readLines(child.stdout, (line) => {
        try {
          this.lines.push(JSON.parse(line));
        } catch {
          this.stderr.push(`stdout: ${line}`);
        }
      }),
      readLines(child.stderr, (line) => this.stderr.push(line)),
    ];
    this.#done = child.status;
  }

  /** Starts `deno run main.ts run node --json` with extra `args`. */
  static start(nodeId: string, args: readonly string[]): NodeProcess {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--config",
        CONFIG,
        ...NODE_PERMISSIONS,
        MAIN,
        "run",
        "node",
        "--json",
        "--node-id",
        nodeId,
        ...args,
      ],
      stdout: "piped",
      stderr: "piped",
      stdin: "null",
    }).spawn();
    return new NodeProcess(nodeId, child);
  }

  /** The latest line with `event`, if any. */
  last(event: string): NodeLine | undefined {
    for (let index = this.lines.length - 1; index >= 0; index--) {
      if (this.lines[index].event === event) return this.lines[index];
    }
    return undefined;
  }

  /**
   * Waits until a line (from line number `fromLine` on) satisfies
   * `predicate`; rejects after `timeoutMs` with the node's output.
   */
  async waitFor(
    description: string,
    predicate: (line: NodeLine) => boolean,
    timeoutMs = 30_000,
    fromLine = 0,
  ): Promise<NodeLine> {
    const deadline = performance.now() + timeoutMs;
    let seen = fromLine;
    while (performance.now() < deadline) {
      for (; seen < this.lines.length; seen++) {
        if (predicate(this.lines[seen])) return this.lines[seen];
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(
      `${this.nodeId}: no line where ${description} within ${timeoutMs} ms.\n` +
        `last lines: ${JSON.stringify(this.lines.slice(-3))}\nstderr: ${
          this.stderr.slice(-10).join("\n")
        }`,
    );
  }

  /** Sends a signal. */
  kill(signal: Deno.Signal): void {
    try {
      this.#child.kill(signal);
    } catch {
      // Already exited.
    }
  }

  /** Resolves with the exit status once the process has ended and its output is read. */
  async exited(): Promise<Deno.CommandStatus> {
    const status = await this.#done;
    await Promise.all(this.#pumps);
    return status;
  }

  /** Writes what the node printed (its JSON lines, then its stderr) to `path`. */
  async saveOutput(path: string): Promise<void> {
    const text = [
      ...this.lines.map((line) => JSON.stringify(line)),
      ...this.stderr.map((line) => `stderr: ${line}`),
    ].join("\n");
    await Deno.writeTextFile(path, `${text}\n`);
  }

  /** Stops the process (SIGTERM, then SIGKILL after `graceMs`) and returns its status. */
  async stop(graceMs = 10_000): Promise<Deno.CommandStatus> {
    this.kill("SIGTERM");
    let timer: ReturnType<typeof setTimeout> | undefined;
    const forced = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.kill("SIGKILL");
        resolve();
      }, graceMs);
    });
    await Promise.race([this.#done, forced]);
    clearTimeout(timer);
    return await this.exited();
  }
}

async function readLines(
  stream: ReadableStream<Uint8Array>,
  onLine: (line: string) => void,
): Promise<void> {
  const decoder = new TextDecoder();
  let buffered = "";
  for await (const chunk of stream) {
    buffered += decoder.decode(chunk, { stream: true });
    let newline: number;
    while ((newline = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, newline).trim();
      buffered = buffered.slice(newline + 1);
      if (line !== "") onLine(line);
    }
  }
  if (buffered.trim() !== "") onLine(buffered.trim());
}

/** Reads a numeric counter from a status line's transport snapshot. */
export function counter(line: NodeLine | undefined, name: string): number {
  const transport = line?.transport as { counters?: Record<string, number> } | undefined;
  return transport?.counters?.[name] ?? 0;
}

/** Reads a chatter total from a status line. */
export function chatterCount(line: NodeLine | undefined, name: string): number {
  return (line?.chatter as Record<string, number> | undefined)?.[name] ?? 0;
}
