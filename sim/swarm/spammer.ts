/**
 * A byzantine node that floods the swarm: junk bytes, envelopes it heard
 * replayed late, and validly signed forgeries (votes from a non-verifier,
 * DECIDEs that were never written to the decide log, commits without a
 * lease, and challenges with junk evidence). Honest nodes must refuse all
 * of it with typed errors and lose nothing; the property checkers confirm
 * that none of it was accepted where it matters.
 *
 * @module
 */

import type { ActorContext, Behavior } from "../../runtime/actor.ts";
import type { Identity } from "../../protocols/identity/mod.ts";
import {
  decodeEnvelope,
  EnvelopeSigner,
  LamportClock,
  type Verb,
} from "../../protocols/envelope/mod.ts";
import { SHARD_TOPICS, shardTopic } from "../../actors/node_core.ts";

/** Settings of a spammer. */
export interface SpammerConfig {
  readonly identity: Identity;
  readonly policyHash: string;
  /** Envelopes sent per second. */
  readonly perSecond: number;
  /** Captured envelopes kept for late replays. */
  readonly captureMax?: number;
  /** Counts what was sent, by attack (filled in as the spammer works). */
  readonly stats?: SpammerStats;
}

type SpammerMessage =
  | { readonly type: "envelope"; readonly bytes: Uint8Array }
  | { readonly type: "tick" };

/** What a spammer sent, by kind of attack. */
export type SpammerStats = Record<string, number>;

interface Heard {
  readonly bytes: Uint8Array;
  readonly kind: string;
  readonly thread: string;
  readonly payload: Record<string, unknown>;
}

const ATTACKS = ["junk", "replay", "vote", "decide", "commit", "challenge"] as const;

/** Makes a spammer behaviour; it subscribes to every shard topic and attacks on a timer. */
export function spammer(config: SpammerConfig): Behavior<SpammerMessage> {
  const heard: Heard[] = [];
  const approvals = new Map<string, Set<string>>();
  const sent: SpammerStats = config.stats ?? {};
  const captureMax = config.captureMax ?? 512;
  let signer: EnvelopeSigner | undefined;
  const intervalMs = 1_000 / config.perSecond;
  return {
    async preStart(ctx) {
      for (let bucket = 0; bucket < SHARD_TOPICS; bucket++) ctx.subscribe(`/swarm/shard/${bucket}`);
      signer = new EnvelopeSigner(config.identity, await LamportClock.open(ctx.store));
      ctx.schedule(intervalMs, { type: "tick" }, { key: "tick" });
    },
    async receive(ctx, message) {
      if (message.type === "envelope") return remember(message.bytes);
      ctx.schedule(intervalMs * (0.5 + ctx.random()), { type: "tick" }, { key: "tick" });
      const attack = ATTACKS[ctx.randomInt(ATTACKS.length)];
      const bytes = await forge(ctx, attack);
      if (bytes === undefined) return;
      sent[attack] = (sent[attack] ?? 0) + 1;
      const target = heard.length > 0 ? heard[ctx.randomInt(heard.length)].thread : "spam";
      ctx.publish(shardTopic(target), { type: "envelope", bytes });
    },
  };

  function remember(bytes: unknown): void {
    if (!(bytes instanceof Uint8Array)) return;
    let envelope;
    try {
      envelope = decodeEnvelope(bytes);
    } catch {
      return;
    }
    const payload = envelope.payload as Record<string, unknown>;
    if (heard.length >= captureMax) heard.shift();
    heard.push({ bytes, kind: envelope.kind, thread: envelope.thread, payload });
    if (envelope.kind === "ATTEST_PLAN" && payload.verdict === "approve") {
      const key = String(payload.proposalId);
      const voters = approvals.get(key) ?? new Set<string>();
      voters.add(envelope.sender);
      approvals.set(key, voters);
    }
  }

  async function forge(
    ctx: ActorContext<SpammerMessage>,
    attack: typeof ATTACKS[number],
  ): Promise<Uint8Array | undefined> {
    if (attack === "junk") return ctx.randomBytes(1 + ctx.randomInt(200));
    const victim = heard.length === 0 ? undefined : heard[ctx.randomInt(heard.length)];
    if (victim === undefined) return undefined;
    if (attack === "replay") return victim.bytes;
    const draft = forgery(ctx, attack, victim);
    if (draft === undefined) return undefined;
    const envelope = await (signer as EnvelopeSigner).sign({
      kind: draft.kind,
      thread: victim.thread,
      payload: draft.payload as never,
      policy: config.policyHash,
    }, ctx);
    return envelope.bytes;
  }

  function forgery(
    ctx: ActorContext<SpammerMessage>,
    attack: "vote" | "decide" | "commit" | "challenge",
    victim: Heard,
  ): { kind: Verb; payload: Record<string, unknown> } | undefined {
    const needId = String(victim.payload.needId ?? victim.thread);
    switch (attack) {
      case "vote":
        if (victim.kind !== "PROPOSE") return undefined;
        return {
          kind: "ATTEST_PLAN",
          payload: { needId, proposalId: victim.payload.proposalId, verdict: "approve" },
        };
      case "decide": {
        if (victim.kind !== "PROPOSE") return undefined;
        const proposalId = String(victim.payload.proposalId);
        const approvers = [...(approvals.get(proposalId) ?? [])];
        if (approvers.length === 0) return undefined;
        return {
          kind: "DECIDE",
          payload: {
            needId,
            proposalId,
            epoch: 0,
            lamport: 1_000_000 + ctx.randomInt(1_000),
            kPlan: approvers.length,
            decider: config.identity.did,
            fence: 1_000_000,
            decidedAtMs: ctx.nowMs(),
            approvers,
          },
        };
      }
      case "commit":
        if (victim.kind !== "CLAIM") return undefined;
        return {
          kind: "COMMIT",
          payload: {
            needId,
            taskId: victim.payload.taskId,
            leaseId: victim.payload.leaseId,
            artifacts: ["bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"],
            outputDigest: "0".repeat(64),
            verifyBounty: 1,
            telemetry: { costUnits: 1, timeMs: 1, memoryBytes: 1 },
          },
        };
      case "challenge":
        if (victim.kind !== "COMMIT") return undefined;
        return {
          kind: "CHALLENGE",
          payload: {
            taskId: victim.payload.taskId,
            commitId: "junk",
            proofType: "OUTPUT_MISMATCH",
            evidence: "junk",
            bond: 0,
          },
        };
    }
  }
}
