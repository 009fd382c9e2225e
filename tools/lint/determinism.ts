/**
 * The determinism rule (DESIGN.md §2): code in `actors/`, `protocols/` and
 * `policies/` must take time, randomness, timers and I/O from the actor
 * context, never from the host, or simulation stops being reproducible.
 *
 * Enabled in deno.json; `deno lint` fails on a violation.
 *
 * @module
 */

// Tests mirror the tree (`tests/policies/…`) and may use the host freely.
const GUARDED_FOLDERS = /(?<!(^|[\\/])tests)(^|[\\/])(actors|protocols|policies)[\\/]/;

const BANNED_MEMBERS: Record<string, Record<string, string>> = {
  Date: { now: "ctx.now() / ctx.nowMs()" },
  performance: { now: "ctx.now()", timeOrigin: "ctx.now()" },
  Math: { random: "ctx.random()" },
  crypto: {
    getRandomValues: "ctx.randomBytes()",
    randomUUID: "ctx.randomBytes()",
  },
  process: {
    hrtime: "ctx.now()",
    env: "configuration passed in by the caller",
    nextTick: "ctx.schedule()",
  },
};

const BANNED_CALLS: Record<string, string> = {
  setTimeout: "ctx.schedule()",
  setInterval: "ctx.schedule() that re-arms itself",
  setImmediate: "ctx.schedule()",
  fetch: "an injected client",
  queueMicrotask: "a message to self",
};

const BANNED_IMPORTS = [
  "node:fs",
  "node:fs/promises",
  "node:net",
  "node:http",
  "node:https",
  "node:dgram",
  "node:child_process",
  "node:os",
  "node:timers",
  "node:timers/promises",
  "node:worker_threads",
  "node:perf_hooks",
  "node:process",
];

const MESSAGE_PREFIX = "Nondeterminism in domain code";

/** Reports host time, randomness, timers and I/O in domain folders. */
const determinismRule: Deno.lint.Rule = {
  create(context) {
    if (!GUARDED_FOLDERS.test(context.filename)) return {};
    const report = (node: Deno.lint.Node, what: string, instead: string) =>
      context.report({
        node,
        message: `${MESSAGE_PREFIX}: ${what} is not allowed here`,
        hint: `Use ${instead}.`,
      });
    return {
      MemberExpression(node) {
        if (node.property.type !== "Identifier") return;
        if (node.property.name === "generateKey" && isCryptoSubtle(node.object)) {
          return report(node, "crypto.subtle.generateKey", "keys derived from ctx.randomBytes()");
        }
        if (node.object.type !== "Identifier") return;
        const objectName = node.object.name;
        if (objectName === "Deno") {
          return report(
            node,
            `Deno.${node.property.name}`,
            "the actor context (ctx.store, ctx.send, …)",
          );
        }
        const instead = BANNED_MEMBERS[objectName]?.[node.property.name];
        if (instead !== undefined) report(node, `${objectName}.${node.property.name}`, instead);
      },
      CallExpression(node) {
        if (node.callee.type !== "Identifier") return;
        const instead = BANNED_CALLS[node.callee.name];
        if (instead !== undefined) report(node, `${node.callee.name}()`, instead);
      },
      NewExpression(node) {
        if (
          node.callee.type === "Identifier" && node.callee.name === "Date" &&
          node.arguments.length === 0
        ) {
          report(node, "new Date() without arguments", "new Date(ctx.nowMs())");
        }
      },
      ImportDeclaration(node) {
        if (BANNED_IMPORTS.includes(node.source.value)) {
          report(
            node,
            `importing ${node.source.value}`,
            "an interface injected through the actor context",
          );
        }
      },
    };
  },
};

function isCryptoSubtle(node: Deno.lint.Node): boolean {
  return node.type === "MemberExpression" && node.object.type === "Identifier" &&
    node.object.name === "crypto" &&
    node.property.type === "Identifier" && node.property.name === "subtle";
}

/** The project's lint plugin. */
const plugin: Deno.lint.Plugin = {
  name: "can-swarm",
  rules: { "determinism": determinismRule },
};

export default plugin;
