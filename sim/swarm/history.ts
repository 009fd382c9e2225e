/**
 * The history of a swarm run: every message each node accepted, every
 * lifecycle effect, every decide-log operation and every nemesis action,
 * stamped with virtual time and the node's own clock. Checkers read only
 * this; the HTML report draws it.
 *
 * @module
 */

import type { DecideRecord, LeaseRecord } from "../../runtime/store/decide_log.ts";
import type { LeaseDrop, LifecycleMessage } from "../../protocols/lifecycle/payloads.ts";
import type { Effect, NeedPhase, TaskStatus } from "../../protocols/lifecycle/state.ts";

/** Fields every event has. */
interface EventBase {
  /** Position in the history. */
  readonly seq: number;
  /** Virtual time, ns since the start of the run. */
  readonly timeNs: bigint;
}

/** A node accepted a lifecycle message (its own, or a peer's). */
export interface AcceptedEvent extends EventBase {
  readonly type: "accepted";
  readonly node: string;
  /** The node's clock, ms (skew and drift included). */
  readonly nodeMs: number;
  readonly message: LifecycleMessage;
}

/** The lifecycle produced an effect on a node. */
export interface EffectEvent extends EventBase {
  readonly type: "effect";
  readonly node: string;
  readonly nodeMs: number;
  readonly effect: Effect;
  /** The NEED's phase after the transition. */
  readonly phase: NeedPhase;
  /** The NEED's decision after the transition, if any. */
  readonly decision: DecideRecord | undefined;
  /** For task effects: the task's status after the transition (a `task-ready` in DRAFT is a reopen). */
  readonly taskStatus?: TaskStatus;
}

/** Outcome of a decide-log call as the simulated service saw it. */
export type LogOutcome =
  | "decided"
  | "already-decided"
  | "conflict"
  | "granted"
  | "held"
  | "ok"
  | "refused"
  | "stale-epoch"
  | "stale-fence"
  | "unavailable"
  | "error"
  /** Written although stale or held: only under a mutation. */
  | "forced";

/** A call a node made to the decide service. */
export type LogEvent =
  & EventBase
  & {
    readonly type: "log";
    readonly node: string;
    /** Which replica served it (`cp`, or an AP side). */
    readonly replica: string;
    readonly outcome: LogOutcome;
    /** The service's epoch when the call was served. */
    readonly logEpoch: number;
  }
  & LogDetail;

/** What a decide-service call was about, by operation. */
export type LogDetail =
  | { readonly op: "decide"; readonly record: DecideRecord; readonly logFence: number }
  | { readonly op: "fence"; readonly bucket: number; readonly token: number }
  | { readonly op: "epoch"; readonly from: number; readonly to: number }
  | { readonly op: "lease"; readonly lease: LeaseRecord }
  | {
    readonly op: "renew" | "mark" | "final" | "release";
    readonly taskId: string;
    readonly leaseId: string;
    readonly expiresAtMs?: number;
  };

/** A nemesis started, ended, or could not act. */
export interface NemesisEvent extends EventBase {
  readonly type: "nemesis";
  /** Index of the nemesis in the scenario's schedule. */
  readonly nemesis: number;
  readonly kind: string;
  readonly phase: "start" | "end" | "no-op";
  readonly detail: string;
  /** Nodes the action touched. */
  readonly nodes: readonly string[];
}

/** A BUGGIFY fault point fired on a node; `needId` is the NEED it delays, when it named one. */
export interface FaultEvent extends EventBase {
  readonly type: "fault";
  readonly name: string;
  readonly node: string | undefined;
  readonly needId: string | undefined;
}

/** The AP decide service merged its replicas after a heal. */
export interface MergeEvent extends EventBase {
  readonly type: "merge";
  readonly winners: readonly DecideRecord[];
  readonly orphaned: readonly { readonly record: DecideRecord; readonly orphanedByEpoch: number }[];
  /** Tasks leased on two sides: the lease the merge dropped, and the one it kept. */
  readonly leases: readonly LeaseDrop[];
}

/** A node's ledger summary (credits), as its core reported it. */
export interface LedgerEvent extends EventBase {
  readonly type: "ledger";
  readonly node: string;
  readonly supply: number;
  /** Balances, stakes, escrows and unbonding together. */
  readonly held: number;
  readonly burned: number;
  /** "ok", or why the ledger's own invariant check failed. */
  readonly invariant: string;
  /** Digest of every account's holdings: equal digests, equal ledgers. */
  readonly digest: string;
  readonly operations: number;
}

/** Any history event. */
export type HistoryEvent =
  | AcceptedEvent
  | EffectEvent
  | LogEvent
  | NemesisEvent
  | FaultEvent
  | MergeEvent
  | LedgerEvent;

/** An event before the history numbers it. */
export type NewHistoryEvent = HistoryEvent extends infer E
  ? E extends HistoryEvent ? Omit<E, "seq" | "timeNs"> : never
  : never;

/** Appends events in order and indexes them by NEED. */
export class History {
  readonly events: HistoryEvent[] = [];
  readonly #byNeed = new Map<string, number[]>();
  readonly #nodeOfDid = new Map<string, string>();
  readonly #now: () => bigint;

  /** @param now the simulation's virtual clock */
  constructor(now: () => bigint) {
    this.#now = now;
  }

  /** Records which node a DID belongs to. */
  nameDid(did: string, node: string): void {
    this.#nodeOfDid.set(did, node);
  }

  /** The node id of a DID (the DID itself when unknown). */
  nodeOf(did: string): string {
    return this.#nodeOfDid.get(did) ?? did;
  }

  /** Every DID the run named, by node. */
  get dids(): ReadonlyMap<string, string> {
    return this.#nodeOfDid;
  }

  /** Appends an event stamped with the current virtual time. */
  push(event: NewHistoryEvent): HistoryEvent {
    const stamped = { ...event, seq: this.events.length, timeNs: this.#now() } as HistoryEvent;
    this.events.push(stamped);
    const needId = needOf(stamped);
    if (needId !== undefined) {
      const list = this.#byNeed.get(needId);
      if (list === undefined) this.#byNeed.set(needId, [stamped.seq]);
      else list.push(stamped.seq);
    }
    return stamped;
  }

  /** Events about one NEED, in order. */
  forNeed(needId: string): HistoryEvent[] {
    return (this.#byNeed.get(needId) ?? []).map((seq) => this.events[seq]);
  }

  /** Every NEED the history mentions, in order of first mention. */
  get needIds(): string[] {
    return [...this.#byNeed.keys()];
  }

  /** Events of one type. */
  ofType<T extends HistoryEvent["type"]>(type: T): Extract<HistoryEvent, { type: T }>[] {
    return this.events.filter((event): event is Extract<HistoryEvent, { type: T }> =>
      event.type === type
    );
  }
}

/** The NEED an event is about, if any. */
export function needOf(event: HistoryEvent): string | undefined {
  switch (event.type) {
    case "accepted":
      return event.message.kind === "RECONCILE" ? undefined : event.message.thread;
    case "effect":
      return event.effect.needId;
    case "log":
      if (event.op === "decide") return event.record.needId;
      return undefined;
    case "fault":
      return event.needId;
    default:
      return undefined;
  }
}

/** A nemesis from its start to its end; `endNs` is undefined while it is still on. */
export interface NemesisSpan {
  readonly start: NemesisEvent;
  readonly endNs: bigint | undefined;
}

/** The spans of the nemeses in `events` (in history order), in the order they started. */
export function nemesisSpans(events: readonly NemesisEvent[]): NemesisSpan[] {
  const spans: { start: NemesisEvent; endNs: bigint | undefined }[] = [];
  const open = new Map<number, { start: NemesisEvent; endNs: bigint | undefined }>();
  for (const event of events) {
    if (event.phase === "start") {
      const span = { start: event, endNs: undefined };
      spans.push(span);
      open.set(event.nemesis, span);
    } else if (event.phase === "end") {
      const span = open.get(event.nemesis);
      if (span !== undefined) span.endNs = event.timeNs;
      open.delete(event.nemesis);
    }
  }
  return spans;
}
