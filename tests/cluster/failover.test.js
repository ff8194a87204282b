"use strict";

// A node killed mid-traffic, in a cluster without sticky sessions: three nodes (the last one a
// Node socket.io node with the official streams adapter by default) share the Redis Streams
// adapter with connection state recovery; roomcast nodes route sessions (ROUTE_SESSIONS=1).
// WebSocket clients reach every node through a round-robin proxy, long-polling clients the
// roomcast nodes through another. While a sender broadcasts a numbered sequence to their room,
// the first node shuts down: its clients reconnect through the proxies to the others, recover,
// and every client ends with the whole sequence, in order, each number once.

const { describe, before, after } = require("node:test");
const assert = require("node:assert/strict");
const h = require("../harness");
const { startRedis } = require("../harness/redis");
const { startProxy } = require("../harness/proxy");

const FLAVOURS = (process.env.FAILOVER_NODES || "rust,rust,reference").split(",").map((f) => f.trim());
const MESSAGES = 60;
const KILL_AT = 20;

describe(`failover: ${FLAVOURS.join(" + ")}, the first node stops mid-traffic`, () => {
  let redis;
  const nodes = [];
  let wsProxy;
  let pollingProxy;

  before(async () => {
    redis = await startRedis();
    for (const [i, flavour] of FLAVOURS.entries()) {
      nodes.push(
        await h.startServer({
          name: flavour,
          env: { REDIS_URL: redis.url, REDIS_ADAPTER: "streams", RECOVERY: "1", ROUTE_SESSIONS: "1", NODE_NAME: `N${i}` },
        }),
      );
    }
    wsProxy = await startProxy(nodes.map((n) => n.port));
    const routing = nodes.filter((n) => n.flavour !== "reference");
    pollingProxy = await startProxy(routing.map((n) => n.port));
  });

  after(async () => {
    h.closeAllClients();
    for (const p of [wsProxy, pollingProxy]) if (p) await p.close();
    await Promise.all(nodes.map((n) => n.stop()));
    if (redis) await redis.stop();
  });

  h.test("every client gets the whole sequence once and in order; the first node's clients recover", { timeout: 60000 }, async () => {
    const room = h.unique("failover");
    const reconnecting = { reconnection: true, reconnectionDelay: 50, reconnectionDelayMax: 200, randomizationFactor: 0 };
    const clients = [];
    // Two WebSocket clients per node (the proxy goes round), two polling clients per routing node.
    for (let i = 0; i < nodes.length * 2; i++) {
      wsProxy.aim(i % nodes.length);
      clients.push(await h.connect(wsProxy.url, { mode: "websocket", ...reconnecting }));
    }
    const routingCount = nodes.filter((n) => n.flavour !== "reference").length;
    for (let i = 0; i < routingCount * 2; i++) {
      pollingProxy.aim(i % routingCount);
      clients.push(await h.connect(pollingProxy.url, { mode: "polling", ...reconnecting }));
    }
    const received = clients.map(() => []);
    clients.forEach((c, i) => c.on("seq", (n) => received[i].push(n)));
    const history = clients.map(() => []);
    clients.forEach((c, i) => {
      c.on("disconnect", (reason) => history[i].push(`disconnect: ${reason}`));
      c.on("connect", () => history[i].push(`connect (recovered: ${c.recovered})`));
      c.on("connect_error", (err) => history[i].push(`connect_error: ${err.message}`));
      c.io.on("reconnect_attempt", (n) => history[i].push(`reconnect attempt ${n}`));
      c.io.on("reconnect_error", (err) => history[i].push(`reconnect error: ${err.message}`));
    });
    for (const c of clients) await h.emitWithAck(c, "join", room);
    const onFirst = [];
    for (const c of clients) {
      if ((await h.emitWithAck(c, "node-name")) === "N0") onFirst.push(c);
    }

    // The sender lives on the last node; it paces itself on its acks.
    wsProxy.aim(nodes.length - 1);
    const sender = await h.connect(wsProxy.url, { mode: "websocket" });
    let stopped;
    for (let n = 0; n < MESSAGES; n++) {
      await h.emitWithAck(sender, "emit-to", { rooms: room, event: "seq", args: [n] });
      if (n === KILL_AT) stopped = nodes[0].stop();
    }
    await stopped;

    const everything = Array.from({ length: MESSAGES }, (_, n) => n);
    const deadline = Date.now() + 20000;
    for (const [i, c] of clients.entries()) {
      while (received[i].length < MESSAGES && Date.now() < deadline) {
        await h.once(c, "seq", Math.max(1, deadline - Date.now())).catch(() => {});
      }
      assert.deepEqual(received[i], everything, `client ${i} (${c.io.engine?.transport?.name}) got every number once, in order; its history: ${history[i].join(", ")}`);
    }
    assert.ok(onFirst.length > 0, "some clients were on the node that stopped");
    for (const c of onFirst) {
      assert.equal(c.recovered, true, "a client of the stopped node recovered its session elsewhere");
    }
  });
});
