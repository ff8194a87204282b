"use strict";

// Connection state recovery across nodes and restarts, with the Redis Streams adapters
// (roomcast's and @socket.io/redis-streams-adapter) behind a round-robin TCP proxy without
// affinity: a client dropped by node A reconnects through the proxy to node B and gets back
// its id, its rooms and the broadcasts it missed; a client of a node that shuts down recovers
// on the other one. Pairs from CLUSTER_PAIRS; the reference node is Node socket.io.

const { describe, before, after } = require("node:test");
const assert = require("node:assert/strict");
const { createClient } = require("redis");
const h = require("../harness");
const { eventually } = h;
const { startRedis } = require("../harness/redis");
const { startProxy } = require("../harness/proxy");

const PAIRS = h.clusterPairs();


for (const [flavourA, flavourB] of PAIRS) {
  describe(`recovery across nodes ${flavourA} -> ${flavourB} (streams)`, () => {
    let redis;
    let redisClient;
    let a;
    let b;
    let proxy;
    const env = (name) => ({
      REDIS_URL: redis.url,
      REDIS_ADAPTER: "streams",
      RECOVERY: "1",
      NODE_NAME: name,
      REQUESTS_TIMEOUT: "2000",
    });

    before(async () => {
      redis = await startRedis();
      redisClient = createClient({ url: redis.url });
      redisClient.on("error", () => {});
      await redisClient.connect();
      a = await h.startServer({ name: flavourA, env: env("A") });
      b = await h.startServer({ name: flavourB, env: env("B") });
      proxy = await startProxy([a.port, b.port]);
    });

    after(async () => {
      h.closeAllClients();
      if (proxy) await proxy.close();
      await Promise.all([a && a.stop(), b && b.stop()]);
      if (redisClient) await redisClient.quit().catch(() => {});
      if (redis) await redis.stop();
    });

    /** A websocket client through the proxy, landing on backend `index` (0: A, 1: B). */
    async function clientOn(index) {
      proxy.aim(index);
      return h.connect(proxy.url, { mode: "websocket", reconnection: false });
    }

    /** Waits until the dropped client's session is kept in Redis (the key the npm adapter uses).
     *  socket.io-client keeps its private id in `_pid`: it is what it sends back on reconnect. */
    async function sessionKept(socket) {
      assert.equal(typeof socket._pid, "string", "recovery is on: the client has a private id");
      await eventually(async () => {
        assert.equal(await redisClient.exists(`sio:session:${socket._pid}`), 1);
      }, 5000, "the session kept in Redis");
    }

    /** Drops the client's transport (as a network failure would) and waits until its session
     *  is kept in Redis. */
    async function dropped(socket) {
      const gone = h.once(socket, "disconnect");
      socket.io.engine.close();
      await gone;
      await sessionKept(socket);
    }

    /** A client in `room` that received one broadcast there (its offset). */
    async function roomMember(index, sender, room) {
      const socket = await clientOn(index);
      await h.emitWithAck(socket, "join", room);
      const first = h.once(socket, "tick");
      await eventually(async () => {
        await h.emitWithAck(sender, "emit-to", { rooms: room, event: "tick", args: [0] });
        await h.within(first, 500, "the first tick");
      }, 8000, "a broadcast from the other node");
      return socket;
    }

    h.test(`[${flavourA}->${flavourB}] dropped by A, recovered on B: id, rooms, missed broadcasts in order`, async () => {
      const room = h.unique("xnode");
      const sender = await clientOn(1);
      const socket = await roomMember(0, sender, room);
      const id = socket.id;

      await dropped(socket);
      for (let i = 1; i <= 3; i++) {
        await h.emitWithAck(sender, "emit-to", { rooms: room, event: "tick", args: [i] });
      }
      await h.emitWithAck(sender, "emit-to", { rooms: h.unique("elsewhere"), event: "tick", args: [99] });

      const order = [];
      socket.on("tick", (n) => order.push(n));
      socket.once("connect", () => order.push("connect"));
      proxy.aim(1);
      socket.connect();
      await h.once(socket, "connect");
      assert.deepEqual(order, [1, 2, 3, "connect"], "missed broadcasts first, in order, then connect");
      assert.equal(socket.recovered, true);
      assert.equal(socket.id, id);
      assert.ok((await h.emitWithAck(socket, "rooms")).includes(room), "rooms restored");
      assert.equal(await h.emitWithAck(socket, "recovered"), true, "the server says so too");

      // Recovered once: the session is gone from Redis.
      assert.equal(await redisClient.exists(`sio:session:${socket._pid}`), 0);
      // And it keeps receiving with fresh offsets.
      const next = h.once(socket, "tick");
      await h.emitWithAck(sender, "emit-to", { rooms: room, event: "tick", args: [4] });
      assert.equal((await next)[0], 4);
    });

    h.test(`[${flavourA}->${flavourB}] an unknown or forged offset does not recover`, async () => {
      const room = h.unique("forged");
      const sender = await clientOn(1);
      const socket = await roomMember(0, sender, room);
      const id = socket.id;
      await dropped(socket);
      socket._lastOffset = "1-0"; // older than anything in the stream
      proxy.aim(1);
      socket.connect();
      await h.once(socket, "connect");
      assert.equal(socket.recovered, false);
      assert.notEqual(socket.id, id);
    });

    // Last: it stops node A.
    h.test(`[${flavourA}->${flavourB}] a node that shuts down: its clients recover on the other`, async () => {
      const room = h.unique("restart");
      const sender = await clientOn(1);
      const socket = await roomMember(0, sender, room);
      const id = socket.id;
      const gone = h.once(socket, "disconnect");
      await a.stop(); // SIGTERM: the node closes ("server shutting down") and exits
      await gone;
      await sessionKept(socket);
      for (let i = 1; i <= 2; i++) {
        await h.emitWithAck(sender, "emit-to", { rooms: room, event: "tick", args: [i] });
      }
      const order = [];
      socket.on("tick", (n) => order.push(n));
      socket.once("connect", () => order.push("connect"));
      proxy.aim(0); // A is gone: the proxy moves on to B
      socket.connect();
      await h.once(socket, "connect");
      assert.deepEqual(order, [1, 2, "connect"]);
      assert.equal(socket.recovered, true);
      assert.equal(socket.id, id);
      assert.ok((await h.emitWithAck(socket, "rooms")).includes(room));
    });
  });
}
