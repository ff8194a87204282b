"use strict";

// The admin UI across a two-node cluster over a real redis-server, for each pair of flavours in
// CLUSTER_PAIRS (the reference node runs socket.io with @socket.io/admin-ui and the official
// Redis adapter): a UI logged in on node A sees both nodes' stats, the sockets of node B, B's
// live feed, and its commands reach B's clients.

const { describe, before, after } = require("node:test");
const assert = require("node:assert/strict");
const h = require("../harness");
const { startRedis } = require("../harness/redis");

const PAIRS = h.clusterPairs();

const LOGIN = { username: "admin", password: "changeit" };
// server_stats goes out every 2 s on each node.
const STATS_WAIT_MS = 10000;

const first = (collected, predicate, timeoutMs = 5000) => h.firstCollected(collected, predicate, timeoutMs);

async function openAdmin(server) {
  const admin = h.createClient(server, { nsp: "/admin", auth: LOGIN });
  const seen = {};
  for (const event of ["all_sockets", "server_stats", "socket_connected"]) seen[event] = h.collector(admin, event);
  await h.waitConnected(admin, "websocket");
  return { admin, seen };
}

for (const [flavourA, flavourB] of PAIRS) {
  describe(`admin UI on a cluster ${flavourA} + ${flavourB}`, () => {
    let redis;
    let a;
    let b;

    before(async () => {
      redis = await startRedis();
      const env = (name) => ({
        REDIS_URL: redis.url,
        NODE_NAME: name,
        REQUESTS_TIMEOUT: "2000",
        ADMIN: "basic",
        ADMIN_SERVER_ID: `node-${name}`,
      });
      a = await h.startServer({ name: flavourA, env: env("A") });
      b = await h.startServer({ name: flavourB, env: env("B") });
    });

    after(async () => {
      h.closeAllClients();
      await Promise.all([a && a.stop(), b && b.stop()]);
      if (redis) await redis.stop();
    });

    h.test(`[${flavourA}+${flavourB}] a UI on A sees both nodes, B's sockets and B's feed; its commands reach B`, async () => {
      const { admin, seen } = await openAdmin(a);
      await first(seen.server_stats, (s) => s.serverId === "node-A", STATS_WAIT_MS);
      await first(seen.server_stats, (s) => s.serverId === "node-B", STATS_WAIT_MS);

      const user = await h.connect(b);
      const room = h.unique("cluster-admin");
      await h.emitWithAck(user, "join", room);
      // B's live feed travels to A's admin clients through the adapter.
      await first(seen.socket_connected, (s) => s.id === user.id);

      // A UI that logs in now lists B's socket (fetched across the cluster).
      const later = await openAdmin(a);
      const [sockets] = await first(later.seen.all_sockets, () => true);
      const listed = sockets.find((s) => s.id === user.id);
      assert.ok(listed, "B's socket is listed on A");
      assert.ok(listed.rooms.includes(room), JSON.stringify(listed.rooms));

      const got = h.once(user, "from-admin");
      admin.emit("emit", "/", room, "from-admin", "hi");
      assert.deepEqual(await got, ["hi"]);
    });
  });
}
