/**
 * Topic names on the network, and how runtime topics map onto gossipsub.
 *
 * Coordination traffic is per thread and per verb:
 * `/swarm/thread/{thread}/{verb}`. Threads are unbounded (one per NEED), and
 * a gossipsub topic costs a mesh, subscription gossip to every peer and
 * heartbeat work, so one topic per thread would grow without bound. Thread
 * topics therefore travel on one of 256 **shard topics**
 * `/swarm/shard/{bucket}` with `bucket = sha256(thread)[0]` — the same
 * bucket function as the shard deciders (DESIGN.md §5), so a decider listens
 * to exactly its bucket's topic. A node subscribed to a thread topic
 * subscribes to the shard topic and drops frames of threads it does not
 * follow. Any other runtime topic `name` travels as `/swarm/topic/{name}`.
 *
 * @module
 */

import { SwarmError } from "../errors.ts";
import { bucketOf } from "../store/decide_log.ts";

/** Prefix of every gossipsub topic of the swarm. */
export const SWARM_TOPIC_PREFIX = "/swarm/";
/** Number of shard topics. */
export const SHARD_COUNT = 256;

/** Raised for a thread id or verb that cannot be part of a topic name. */
export class TopicError extends SwarmError {}

const SEGMENT_PATTERN = /^[A-Za-z0-9_.:=+-]{1,128}$/;

/**
 * The topic of one verb of one thread.
 *
 * @example
 * ```ts
 * threadTopic("need-42", "NEED"); // "/swarm/thread/need-42/NEED"
 * ```
 */
export function threadTopic(thread: string, verb: string): string {
  for (const [name, value] of [["thread", thread], ["verb", verb]] as const) {
    if (!SEGMENT_PATTERN.test(value)) {
      throw new TopicError(
        "E_TOPIC_SEGMENT",
        `Topic ${name} must match ${SEGMENT_PATTERN.source}, got ${JSON.stringify(value)}`,
      );
    }
  }
  return `${SWARM_TOPIC_PREFIX}thread/${thread}/${verb}`;
}

/** The thread of a thread topic, or undefined for other topics. */
export function threadOfTopic(topic: string): string | undefined {
  const match = /^\/swarm\/thread\/([^/]+)\/[^/]+$/.exec(topic);
  return match?.[1];
}

/** The shard topic of a bucket: `/swarm/shard/00` … `/swarm/shard/ff`. */
export function shardTopic(bucket: number): string {
  if (!Number.isInteger(bucket) || bucket < 0 || bucket >= SHARD_COUNT) {
    throw new TopicError("E_TOPIC_BUCKET", `Shard bucket must be in [0, 255], got ${bucket}`);
  }
  return `${SWARM_TOPIC_PREFIX}shard/${bucket.toString(16).padStart(2, "0")}`;
}

/** How thread topics are carried: on shard topics (default) or one topic each. */
export type ThreadRouting = "sharded" | "per-thread";

/**
 * The gossipsub topic that carries runtime topic `topic`.
 *
 * @example
 * ```ts
 * gossipTopicOf("/swarm/thread/need-42/NEED"); // "/swarm/shard/xx"
 * gossipTopicOf("chat"); // "/swarm/topic/chat"
 * ```
 */
export function gossipTopicOf(topic: string, routing: ThreadRouting = "sharded"): string {
  const thread = threadOfTopic(topic);
  if (thread !== undefined) {
    return routing === "sharded" ? shardTopic(bucketOf(thread)) : topic;
  }
  if (topic.startsWith(SWARM_TOPIC_PREFIX)) return topic;
  return `${SWARM_TOPIC_PREFIX}topic/${topic}`;
}
