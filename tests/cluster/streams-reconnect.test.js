"use strict";

// The Redis Streams adapter's promise: a broadcast appended while a node's connections to Redis
// are cut reaches that node's clients once it reconnects (it reads the stream from the last id
// it saw). Node B reaches Redis through a TCP proxy the test cuts and restores; node A and the
// test's own Redis client go direct. STREAMS_FLAVOURS picks B's flavours (default: the
// CLUSTER_URL_FLAVOUR the binding suites set, else rust).

const { describe, before, after } = require("node:test");
const assert = require("node:assert/strict");
const net = require("node:net");
const h = require("../harness");
const { eventually } = h;
const { startRedis } = require("../harness/redis");
const { createClient } = require("redis");

const FLAVOURS = (process.env.STREAMS_FLAVOURS || process.env.CLUSTER_URL_FLAVOUR || "rust").split(",").map((f) => f.trim()).filter(Boolean);

/** A TCP proxy to `port` that can drop every connection and refuse new ones until restored. */
function cuttableProxy(port) {
  const open = new Set();
  let cut = false;
  const server = net.createServer((client) => {
    if (cut) return client.destroy();
    const upstream = net.connect(port, "127.0.0.1");
    for (const [a, b] of [[client, upstream], [upstream, client]]) {
      open.add(a);
      a.on("error", () => {});
      a.on("close", () => {
        open.delete(a);
        b.destroy();
      });
      a.pipe(b);
    }
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () =>
      resolve({
        url: `redis://127.0.0.1:${server.address().port}`,
        cut() {
          cut = true;
          for (const s of open) s.destroy();
        },
        restore() {
          cut = false;
        },
        close: () => new Promise((r) => server.close(r)),
      }),
    );
  });
}


for (const flavour of FLAVOURS) {
  describe(`streams adapter: ${flavour} node behind a cut connection`, () => {
    let redis;
    let proxy;
    let direct;
    let a;
    let b;

    before(async () => {
      redis = await startRedis();
      proxy = await cuttableProxy(redis.port);
      direct = createClient({ url: redis.url });
      await direct.connect();
      const env = (name, url) => ({ REDIS_URL: url, REDIS_ADAPTER: "streams", NODE_NAME: name, REQUESTS_TIMEOUT: "2000" });
      a = await h.startServer({ name: "rust", env: env("A", redis.url) });
      b = await h.startServer({ name: flavour, env: env("B", proxy.url) });
      const onB = await h.connect(b);
      const sender = await h.connect(a);
      // B reads the stream: a broadcast from A arrives.
      await eventually(async () => {
        const [got] = await Promise.all([
          h.once(onB, "warm-up", 300),
          h.emitWithAck(sender, "emit-to", { event: "warm-up", args: [] }),
        ]);
        return got;
      }, 10000, "B reading the stream");
    });

    after(async () => {
      h.closeAllClients();
      await Promise.all([a && a.stop(), b && b.stop()]);
      if (direct) await direct.quit().catch(() => {});
      if (proxy) await proxy.close();
      if (redis) await redis.stop();
    });

    h.test(`[${flavour}] a broadcast appended while B's Redis connections are cut reaches B's clients after it reconnects`, { timeout: 30000 }, async () => {
      const room = h.unique("cut");
      const onB = await h.connect(b);
      await h.emitWithAck(onB, "join", room);
      const sender = await h.connect(a);
      const got = h.once(onB, "while-cut", 20000);

      proxy.cut();
      await h.emitWithAck(sender, "emit-to", { rooms: room, event: "while-cut", args: [{ n: 1 }] });
      // The entry is in the stream before B can reach Redis again.
      await eventually(async () => {
        const entries = await direct.xRange("socket.io", "-", "+");
        assert.ok(entries.some((e) => e.message.data && e.message.data.includes("while-cut")));
      }, 5000, "the broadcast in the stream");
      proxy.restore();

      assert.deepEqual(await got, [{ n: 1 }]);
    });
  });
}
