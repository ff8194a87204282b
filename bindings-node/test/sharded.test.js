"use strict";

// createShardedAdapter's options, as the npm package's createShardedAdapter names them (the
// cross-node behaviour over a real Redis Cluster is in tests/cluster with CLUSTER_ADAPTER=sharded).

const assert = require("node:assert/strict");
const { Server, createShardedAdapter, RedisShardedAdapter } = require("roomcast");
const { test } = require("./helpers");

test("createShardedAdapter: defaults, node lists, and bad values refused with a clear error", () => {
  const one = createShardedAdapter("redis://127.0.0.1:7000");
  assert.ok(one instanceof RedisShardedAdapter);
  assert.deepEqual(one.nodes, ["redis://127.0.0.1:7000"]);
  assert.equal(one.channelPrefix, "socket.io");
  assert.equal(one.subscriptionMode, "dynamic");
  assert.equal(one.requestsTimeout, 5000);
  const many = createShardedAdapter({ nodes: ["redis://a:7000", "redis://b:7000"], subscriptionMode: "dynamic-private", channelPrefix: "app" });
  assert.deepEqual([...many.nodes], ["redis://a:7000", "redis://b:7000"]);
  assert.equal(new Server({ adapter: many }).adapter(), many);
  assert.throws(() => createShardedAdapter([]), /cluster node URL/);
  assert.throws(() => createShardedAdapter("http://a:7000"), /redis:\/\/ or rediss:\/\//);
  assert.throws(() => createShardedAdapter("redis://a:7000", { subscriptionMode: "sometimes" }), /subscriptionMode/);
  assert.throws(() => createShardedAdapter({ sPublish() {}, sSubscribe() {} }), /not redis clients/);
});
