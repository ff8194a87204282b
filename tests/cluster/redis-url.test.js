"use strict";

// Redis URLs with a password, a database number and TLS (`rediss://`): two roomcast nodes
// still form a cluster.

const { describe, before, after } = require("node:test");
const assert = require("node:assert/strict");
const h = require("../harness");
const { startRedis } = require("../harness/redis");

const FLAVOUR = process.env.CLUSTER_URL_FLAVOUR || "rust";

for (const [label, options] of [
  ["password and database 3", { password: "s3cret pass", db: 3 }],
  ["TLS with a password", { tls: true, password: "tlspass" }],
]) {
  describe(`cluster over ${label}`, () => {
    let redis;
    let a;
    let b;
    before(async () => {
      redis = await startRedis(options);
      a = await h.startServer({ name: FLAVOUR, env: { REDIS_URL: redis.url, NODE_NAME: "A" } });
      b = await h.startServer({ name: FLAVOUR, env: { REDIS_URL: redis.url, NODE_NAME: "B" } });
    });
    after(async () => {
      h.closeAllClients();
      await Promise.all([a && a.stop(), b && b.stop()]);
      if (redis) await redis.stop();
    });

    h.test(`[${label}] a broadcast from A reaches B`, async () => {
      const onB = await h.connect(b);
      const sender = await h.connect(a);
      const deadline = Date.now() + 10000;
      // The nodes subscribe in the background: retry until the first one gets through.
      for (;;) {
        const got = h.once(onB, "hello-over-url", 300).then(() => true, () => false);
        await h.emitWithAck(sender, "emit-to", { event: "hello-over-url", args: [1] });
        if (await got) break;
        assert.ok(Date.now() < deadline, "no broadcast got through");
      }
    });
  });
}
