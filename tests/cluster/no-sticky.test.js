"use strict";

// No sticky sessions: three roomcast nodes (ROUTE_SESSIONS=1, a session directory in Redis)
// behind a round-robin TCP proxy without affinity. Every request of a long-polling session,
// and its WebSocket upgrade, may land on any node; the node that does not hold the session
// hands the request to the one that does. Without the directory the same clients fail, which
// is the limit every Socket.IO server documents.

const { describe, before, after } = require("node:test");
const assert = require("node:assert/strict");
const http = require("node:http");
const h = require("../harness");
const { startRedis } = require("../harness/redis");
const { startProxy } = require("../harness/proxy");

const FLAVOURS = (process.env.NO_STICKY_FLAVOURS || "rust").split(",").map((f) => f.trim()).filter(Boolean);

/** One raw HTTP request; resolves to { status, body }. */
function request(port, method, path, body) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, method, path, agent: false, headers: body ? { "content-type": "text/plain;charset=UTF-8" } : {} }, (res) => {
      let data = "";
      res.setEncoding("utf8");
      res.on("data", (c) => (data += c));
      res.on("end", () => resolve({ status: res.statusCode, body: data }));
    });
    req.setTimeout(10000, () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.on("error", reject);
    req.end(body);
  });
}

for (const flavour of FLAVOURS) {
  describe(`no sticky sessions (${flavour})`, () => {
    let redis;
    const nodes = [];
    let proxy;

    before(async () => {
      redis = await startRedis();
      for (const name of ["A", "B", "C"]) {
        nodes.push(await h.startServer({ name: flavour, env: { REDIS_URL: redis.url, ROUTE_SESSIONS: "1", NODE_NAME: name } }));
      }
      proxy = await startProxy(nodes.map((n) => n.port));
    });

    after(async () => {
      h.closeAllClients();
      if (proxy) await proxy.close();
      await Promise.all(nodes.map((n) => n.stop()));
      if (redis) await redis.stop();
    });

    h.test(`[${flavour}] a session opened on A is served by B and C: POST on B, poll on C`, async () => {
      const [a, b, c] = nodes.map((n) => n.port);
      const open = await request(a, "GET", "/socket.io/?EIO=4&transport=polling");
      assert.equal(open.status, 200);
      const { sid } = JSON.parse(open.body.slice(1));
      const q = `/socket.io/?EIO=4&transport=polling&sid=${encodeURIComponent(sid)}`;
      assert.deepEqual(await request(b, "POST", q, "40"), { status: 200, body: "ok" });
      const connected = await request(c, "GET", q);
      assert.equal(connected.status, 200);
      assert.match(connected.body, /^40\{"sid":"[^"]+"/, "the CONNECT reply, polled through C");
      // An event with an ack sent through C, its answer polled through B.
      assert.equal((await request(c, "POST", q, '421["rooms"]')).body, "ok");
      const answer = await request(b, "GET", q);
      assert.match(answer.body, /^431\[\[/, "the ack, polled through B");
    });

    h.test(`[${flavour}] a session nobody holds is still refused as unknown`, async () => {
      const res = await request(nodes[1].port, "GET", "/socket.io/?EIO=4&transport=polling&sid=nobody-has-this-one");
      assert.equal(res.status, 400);
      assert.deepEqual(JSON.parse(res.body), { code: 1, message: "Session ID unknown" });
    });

    for (const mode of ["polling", "upgrade"]) {
      h.test(`[${flavour}] [${mode}] socket.io-client through the round-robin proxy: acks, rooms, broadcasts`, async () => {
        const before = proxy.targets.length;
        const [x, y] = [await h.connect(proxy.url, { mode }), await h.connect(proxy.url, { mode })];
        const room = h.unique("rr");
        await h.emitWithAck(x, "join", room);
        await h.emitWithAck(y, "join", room);
        for (let i = 0; i < 10; i++) {
          assert.ok((await h.emitWithAck(x, "rooms")).includes(room));
        }
        const got = h.once(y, "news");
        await h.emitWithAck(x, "emit-to", { rooms: room, event: "news", args: [1] });
        assert.deepEqual(await got, [1]);
        if (mode === "upgrade") {
          await h.upgraded(x);
          assert.equal(h.transportName(x), "websocket");
          assert.ok((await h.emitWithAck(x, "rooms")).includes(room));
        }
        const used = new Set(proxy.targets.slice(before));
        assert.ok(used.size >= 2, `the proxy spread the connections over ${used.size} node(s)`);
      });
    }
  });
}
