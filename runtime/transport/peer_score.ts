/**
 * Per-peer reputation on the network layer: latency (from pings), delivery
 * ratio (writes and requests that succeeded) and invalid messages (bad
 * frames, oversized frames, floods). A peer whose score falls below the ban
 * threshold is disconnected and refused for a while; a repeat offender is
 * banned for twice as long each time, up to a cap.
 *
 * The book is pure bookkeeping on an injected clock, so its rules are unit
 * tested without a network; the libp2p transport acts on its verdicts.
 *
 * @module
 */

import { SwarmError } from "../errors.ts";

/** Settings of a {@linkcode PeerScoreBook}. */
export interface PeerScoreOptions {
  /** Score below which a peer is banned. Default 0 (scores run 0-100). */
  banThreshold: number;
  /** First ban length. Default 60,000 ms. */
  banMs: number;
  /** Longest ban. Default 3,600,000 ms. */
  banMsMax: number;
  /** Penalty per invalid message. Default 25 (four quick offences ban). */
  invalidPenalty: number;
  /** Half-life of invalid-message penalties. Default 60,000 ms. */
  invalidHalfLifeMs: number;
  /** Most a poor delivery ratio can cost. Default 40. */
  deliveryWeight: number;
  /** Latency above which a peer loses points (up to 20). Default 250 ms. */
  latencyToleranceMs: number;
  /** Peers tracked at most; the least recently seen unbanned peer is forgotten. Default 4,096. */
  peersMax: number;
}

/** Defaults of {@linkcode PeerScoreOptions}. */
export const PEER_SCORE_DEFAULT: PeerScoreOptions = {
  banThreshold: 0,
  banMs: 60_000,
  banMsMax: 3_600_000,
  invalidPenalty: 25,
  invalidHalfLifeMs: 60_000,
  deliveryWeight: 40,
  latencyToleranceMs: 250,
  peersMax: 4_096,
};

/** Raised for invalid score settings. */
export class PeerScoreError extends SwarmError {}

/** What is known about one peer. */
export interface PeerRecord {
  latencyMs: number | undefined;
  deliveryRatio: number;
  deliveries: number;
  invalidWeight: number;
  invalidTotal: number;
  invalidByCode: Record<string, number>;
  lastUpdateMs: number;
  bannedUntilMs: number;
  bans: number;
}

/** A snapshot for status output and tests. */
export interface PeerScoreView {
  readonly peer: string;
  readonly score: number;
  readonly latencyMs: number | undefined;
  readonly deliveryRatio: number;
  readonly invalidTotal: number;
  readonly invalidByCode: Readonly<Record<string, number>>;
  readonly banned: boolean;
  readonly bans: number;
}

const DELIVERY_EWMA = 0.1;
const LATENCY_EWMA = 0.3;

/** Scores of every peer this node has dealt with. */
export class PeerScoreBook {
  readonly options: PeerScoreOptions;
  readonly #nowMs: () => number;
  readonly #peers = new Map<string, PeerRecord>();

  constructor(nowMs: () => number, options: Partial<PeerScoreOptions> = {}) {
    this.options = { ...PEER_SCORE_DEFAULT, ...options };
    this.#nowMs = nowMs;
    const { banMs, banMsMax, invalidHalfLifeMs, peersMax } = this.options;
    if (!(banMs > 0 && banMsMax >= banMs && invalidHalfLifeMs > 0 && peersMax >= 1)) {
      throw new PeerScoreError(
        "E_PEER_SCORE_CONFIG",
        `Peer score needs 0 < banMs <= banMsMax, invalidHalfLifeMs > 0 and peersMax >= 1, got ${
          JSON.stringify(this.options)
        }`,
      );
    }
  }

  /** Records a round-trip time. */
  recordLatency(peer: string, latencyMs: number): void {
    const record = this.#record(peer);
    record.latencyMs = record.latencyMs === undefined
      ? latencyMs
      : record.latencyMs + LATENCY_EWMA * (latencyMs - record.latencyMs);
  }

  /** Records a delivery attempt; returns true when the peer must now be banned. */
  recordDelivery(peer: string, delivered: boolean): boolean {
    const record = this.#record(peer);
    record.deliveries++;
    record.deliveryRatio += DELIVERY_EWMA * ((delivered ? 1 : 0) - record.deliveryRatio);
    return this.#checkBan(record);
  }

  /** Records an invalid message with its error code; returns true when the peer must now be banned. */
  recordInvalid(peer: string, code: string, weight = 1): boolean {
    const record = this.#record(peer);
    this.#decay(record);
    record.invalidWeight += weight;
    record.invalidTotal += weight;
    record.invalidByCode[code] = (record.invalidByCode[code] ?? 0) + weight;
    return this.#checkBan(record);
  }

  /** The peer's current score, 0 (worst) to 100 (best); 100 for unknown peers. */
  score(peer: string): number {
    const record = this.#peers.get(peer);
    return record === undefined ? 100 : this.#scoreOf(record);
  }

  /** True while the peer is banned. */
  isBanned(peer: string): boolean {
    const record = this.#peers.get(peer);
    return record !== undefined && record.bannedUntilMs > this.#nowMs();
  }

  /** When the ban of `peer` ends (ms on the book's clock), or 0. */
  bannedUntilMs(peer: string): number {
    return this.#peers.get(peer)?.bannedUntilMs ?? 0;
  }

  /** A snapshot of one peer. */
  view(peer: string): PeerScoreView {
    const record = this.#record(peer);
    return {
      peer,
      score: Math.round(this.#scoreOf(record) * 10) / 10,
      latencyMs: record.latencyMs,
      deliveryRatio: record.deliveryRatio,
      invalidTotal: record.invalidTotal,
      invalidByCode: { ...record.invalidByCode },
      banned: this.isBanned(peer),
      bans: record.bans,
    };
  }

  /** Snapshots of every tracked peer. */
  views(): PeerScoreView[] {
    return [...this.#peers.keys()].map((peer) => this.view(peer));
  }

  #scoreOf(record: PeerRecord): number {
    this.#decay(record);
    const { invalidPenalty, deliveryWeight, latencyToleranceMs } = this.options;
    const latency = record.latencyMs ?? 0;
    const latencyPenalty = latency <= latencyToleranceMs
      ? 0
      : Math.min(20, 20 * (latency - latencyToleranceMs) / (latencyToleranceMs * 4));
    const deliveryPenalty = record.deliveries < 10
      ? 0
      : deliveryWeight * (1 - record.deliveryRatio);
    return 100 - invalidPenalty * record.invalidWeight - deliveryPenalty - latencyPenalty;
  }

  #checkBan(record: PeerRecord): boolean {
    const now = this.#nowMs();
    if (record.bannedUntilMs > now || this.#scoreOf(record) >= this.options.banThreshold) {
      return false;
    }
    const { banMs, banMsMax } = this.options;
    record.bannedUntilMs = now + Math.min(banMsMax, banMs * 2 ** record.bans);
    record.bans++;
    // A ban wipes the slate: after it ends the peer starts from a neutral score.
    record.invalidWeight = 0;
    record.deliveryRatio = 1;
    record.deliveries = 0;
    return true;
  }

  #decay(record: PeerRecord): void {
    const now = this.#nowMs();
    const elapsed = now - record.lastUpdateMs;
    if (elapsed > 0) {
      record.invalidWeight *= 0.5 ** (elapsed / this.options.invalidHalfLifeMs);
      record.lastUpdateMs = now;
    }
  }

  #record(peer: string): PeerRecord {
    let record = this.#peers.get(peer);
    if (record !== undefined) {
      this.#peers.delete(peer);
      this.#peers.set(peer, record);
      return record;
    }
    record = {
      latencyMs: undefined,
      deliveryRatio: 1,
      deliveries: 0,
      invalidWeight: 0,
      invalidTotal: 0,
      invalidByCode: {},
      lastUpdateMs: this.#nowMs(),
      bannedUntilMs: 0,
      bans: 0,
    };
    this.#peers.set(peer, record);
    this.#evict();
    return record;
  }

  #evict(): void {
    if (this.#peers.size <= this.options.peersMax) return;
    const now = this.#nowMs();
    for (const [peer, record] of this.#peers) {
      if (record.bannedUntilMs <= now) {
        this.#peers.delete(peer);
        return;
      }
    }
  }
}
