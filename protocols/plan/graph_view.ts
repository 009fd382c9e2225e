/**
 * GraphView: the dependency graph of the plan, kept acyclic.
 *
 * LINK ops arrive in any order from any replica, and two concurrent links
 * may each be fine alone yet close a cycle together. Every replica keeps
 * the same edges by one rule: links are accepted greedily in the total op
 * order ({@linkcode compareOps}), and a link that would close a cycle with
 * the links accepted before it is rejected. Updating is incremental: a link
 * that closes no cycle is simply added (it cannot change any earlier
 * decision), a cycle-closing link ordered after every accepted link is
 * simply rejected, and only a cycle-closing link that orders before some
 * accepted link (a rare concurrent race) triggers a rebuild.
 *
 * Local authors never get that far: {@linkcode GraphView.cycleThrough}
 * lets the store refuse such a LINK with `E_PLAN_CYCLE` before it is written.
 *
 * @module
 */

import { compareOps, type LinkOp, planOpId } from "./op.ts";

/** What applying one LINK did. */
export interface LinkOutcome {
  /** Whether the link is part of the graph now. */
  readonly accepted: boolean;
  /** Tasks whose parents changed (their readiness may have changed). */
  readonly touched: readonly string[];
}

function sorted(values: Iterable<string>): string[] {
  return [...values].sort();
}

/** The acyclic task graph derived from LINK ops. */
export class GraphView {
  readonly #children = new Map<string, Set<string>>();
  readonly #parents = new Map<string, Set<string>>();
  readonly #links = new Map<string, LinkOp>();
  readonly #rejected = new Set<string>();
  #maxAccepted: LinkOp | undefined;
  #edgeCount = 0;
  #rebuilds = 0;

  /** Number of accepted edges. */
  get edgeCount(): number {
    return this.#edgeCount;
  }

  /** Number of full rebuilds (concurrent cycle races); a statistic. */
  get rebuilds(): number {
    return this.#rebuilds;
  }

  /** Tasks that `task` unblocks (direct). */
  children(task: string): string[] {
    return sorted(this.#children.get(task) ?? []);
  }

  /** Tasks that must be FINAL before `task` can start (direct). */
  parents(task: string): string[] {
    return sorted(this.#parents.get(task) ?? []);
  }

  /** Parents of `task` without copying or sorting; for hot paths. */
  parentSet(task: string): ReadonlySet<string> {
    return this.#parents.get(task) ?? new Set();
  }

  /** True when the edge `from -> to` is in the graph. */
  hasEdge(from: string, to: string): boolean {
    return this.#children.get(from)?.has(to) ?? false;
  }

  /** Every task `task` transitively depends on. */
  ancestors(task: string): string[] {
    return sorted(this.#reach(task, this.#parents));
  }

  /** Every task that transitively depends on `task`. */
  descendants(task: string): string[] {
    return sorted(this.#reach(task, this.#children));
  }

  /** Ids of LINK ops that were rejected because they would close a cycle. */
  rejectedLinks(): string[] {
    return sorted(this.#rejected);
  }

  /** All accepted edges as `[from, to]`, sorted. */
  edges(): [string, string][] {
    const edges: [string, string][] = [];
    for (const from of sorted(this.#children.keys())) {
      for (const to of sorted(this.#children.get(from)!)) edges.push([from, to]);
    }
    return edges;
  }

  /**
   * The cycle `from -> to -> … -> from` that the edge `from -> to` would
   * close, or undefined. `extra` adds edges not yet in the graph (a batch
   * being checked before it is written).
   */
  cycleThrough(
    from: string,
    to: string,
    extra?: ReadonlyMap<string, readonly string[]>,
  ): string[] | undefined {
    if (from === to) return [from, from];
    if (this.hasEdge(from, to)) return undefined;
    const previous = new Map<string, string>();
    const stack = [to];
    const seen = new Set([to]);
    while (stack.length > 0) {
      const node = stack.pop()!;
      if (node === from) {
        const path = [from];
        for (let step = from; step !== to;) path.push(step = previous.get(step)!);
        return [from, ...path.reverse()];
      }
      for (const child of this.#childrenWith(node, extra)) {
        if (seen.has(child)) continue;
        seen.add(child);
        previous.set(child, node);
        stack.push(child);
      }
    }
    return undefined;
  }

  /**
   * Tasks in an order where every task comes after all its ancestors; ties
   * broken by id so every replica lists the same order. `nodes` adds tasks
   * without edges.
   */
  topologicalOrder(nodes: Iterable<string> = []): string[] {
    const indegree = new Map<string, number>();
    for (const node of nodes) indegree.set(node, 0);
    for (const [from, children] of this.#children) {
      if (!indegree.has(from)) indegree.set(from, 0);
      for (const to of children) indegree.set(to, (indegree.get(to) ?? 0) + 1);
    }
    const order: string[] = [];
    let layer = sorted([...indegree].filter(([, degree]) => degree === 0).map(([node]) => node));
    while (layer.length > 0) {
      const next: string[] = [];
      for (const node of layer) {
        order.push(node);
        for (const child of this.#children.get(node) ?? []) {
          const degree = indegree.get(child)! - 1;
          indegree.set(child, degree);
          if (degree === 0) next.push(child);
        }
      }
      layer = next.sort();
    }
    return order;
  }

  /** Returns a cycle if the accepted graph has one (it never should), else undefined. */
  findCycle(): string[] | undefined {
    const all = new Set([...this.#children.keys(), ...this.#parents.keys()]);
    const order = this.topologicalOrder(all);
    if (order.length === all.size) return undefined;
    const placed = new Set(order);
    return sorted([...all].filter((node) => !placed.has(node)));
  }

  /** Folds one LINK op in (from any source); see the module documentation. */
  apply(op: LinkOp): LinkOutcome {
    const id = planOpId(op);
    if (this.#links.has(id)) return { accepted: !this.#rejected.has(id), touched: [] };
    this.#links.set(id, op);
    if (this.cycleThrough(op.from, op.to) === undefined) {
      this.#accept(op);
      return { accepted: true, touched: [op.to] };
    }
    if (this.#maxAccepted === undefined || compareOps(op, this.#maxAccepted) > 0) {
      this.#rejected.add(id);
      return { accepted: false, touched: [] };
    }
    return this.#rebuild(id);
  }

  #accept(op: LinkOp): void {
    if (this.#maxAccepted === undefined || compareOps(op, this.#maxAccepted) > 0) {
      this.#maxAccepted = op;
    }
    if (this.hasEdge(op.from, op.to)) return;
    let children = this.#children.get(op.from);
    if (children === undefined) this.#children.set(op.from, children = new Set());
    children.add(op.to);
    let parents = this.#parents.get(op.to);
    if (parents === undefined) this.#parents.set(op.to, parents = new Set());
    parents.add(op.from);
    this.#edgeCount++;
  }

  /** Replays every link greedily in op order; touches every task that had or has parents. */
  #rebuild(id: string): LinkOutcome {
    this.#rebuilds++;
    const touched = new Set(this.#parents.keys());
    this.#children.clear();
    this.#parents.clear();
    this.#rejected.clear();
    this.#maxAccepted = undefined;
    this.#edgeCount = 0;
    for (const link of [...this.#links.values()].sort(compareOps)) {
      if (this.cycleThrough(link.from, link.to) === undefined) this.#accept(link);
      else this.#rejected.add(planOpId(link));
    }
    for (const task of this.#parents.keys()) touched.add(task);
    return { accepted: !this.#rejected.has(id), touched: [...touched] };
  }

  #childrenWith(
    node: string,
    extra: ReadonlyMap<string, readonly string[]> | undefined,
  ): Iterable<string> {
    const own = this.#children.get(node);
    const more = extra?.get(node);
    if (more === undefined) return own ?? [];
    return own === undefined ? more : [...own, ...more];
  }

  #reach(start: string, next: Map<string, Set<string>>): Set<string> {
    const seen = new Set<string>();
    const stack = [start];
    while (stack.length > 0) {
      for (const node of next.get(stack.pop()!) ?? []) {
        if (node !== start && !seen.has(node)) {
          seen.add(node);
          stack.push(node);
        }
      }
    }
    return seen;
  }
}
