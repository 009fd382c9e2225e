// Proves thread topics map onto 256 shard topics by sha256(thread)[0] and other topics keep their own name.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  gossipTopicOf,
  shardTopic,
  threadOfTopic,
  threadTopic,
  TopicError,
} from "../../../runtime/transport/topics.ts";
import { bucketOf } from "../../../runtime/store/decide_log.ts";

Deno.test("threadTopic() names /swarm/thread/{thread}/{verb} and refuses slashes", () => {
  assert.equal(threadTopic("need-42", "NEED"), "/swarm/thread/need-42/NEED");
  assert.throws(() => threadTopic("a/b", "NEED"), TopicError);
  assert.throws(() => threadTopic("x", ""), TopicError);
  assert.equal(threadOfTopic("/swarm/thread/need-42/NEED"), "need-42");
  assert.equal(threadOfTopic("/swarm/other"), undefined);
});

Deno.test("bucketOf() is the first byte of sha256(thread): the shard deciders' bucket and the shard topic", () => {
  for (const thread of ["a", "need-1", "need-2", "ζ"]) {
    assert.equal(bucketOf(thread), createHash("sha256").update(thread).digest()[0]);
  }
  // Buckets are remembered for recent threads: still right when asked again, and after
  // more threads than are remembered have pushed the first ones out.
  for (let round = 0; round < 2; round++) {
    for (let index = 0; index < 101_000; index++) {
      const thread = `thread-${index}`;
      assert.equal(bucketOf(thread), createHash("sha256").update(thread).digest()[0]);
    }
  }
  assert.equal(shardTopic(0), "/swarm/shard/00");
  assert.equal(shardTopic(255), "/swarm/shard/ff");
  assert.throws(() => shardTopic(256), TopicError);
});

Deno.test("gossipTopicOf() puts every verb of a thread on its shard topic", () => {
  const topics = new Set<string>();
  for (let index = 0; index < 10_000; index++) {
    const thread = `need-${index}`;
    const shard = gossipTopicOf(threadTopic(thread, "NEED"));
    assert.equal(gossipTopicOf(threadTopic(thread, "ATTEST")), shard);
    topics.add(shard);
  }
  assert.equal(topics.size, 256, "10,000 threads use exactly the 256 shard topics");
  assert.equal(gossipTopicOf("/swarm/thread/t/NEED", "per-thread"), "/swarm/thread/t/NEED");
  assert.equal(gossipTopicOf("chat"), "/swarm/topic/chat");
  assert.equal(gossipTopicOf("/swarm/nodes"), "/swarm/nodes");
});
