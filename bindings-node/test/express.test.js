"use strict";

// Attaching to an express app: an HTTP route and Socket.IO on one port (examples/node/express.js
// and an app built here).

const { after } = require("node:test");
const assert = require("node:assert/strict");
const http = require("node:http");
const express = require("express");
const { Server } = require("roomcast");
const h = require("./helpers");
const { startExample } = require("./examples");
const { test } = h;

after(() => h.cleanup());

async function json(url, init) {
  const res = await fetch(url, init);
  return { status: res.status, body: await res.json() };
}

test("an express app keeps its routes; /socket.io/ is roomcast's", async () => {
  const app = express();
  app.get("/hello", (req, res) => res.json({ hello: req.query.name }));
  app.use((req, res) => res.status(404).send("express 404"));
  const httpServer = http.createServer(app);
  const io = new Server(httpServer);
  io.on("connection", (socket) => socket.on("double", (n, ack) => ack(n * 2)));
  await new Promise((resolve) => httpServer.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${httpServer.address().port}`;
  try {
    assert.deepEqual(await json(`${base}/hello?name=ada`), { status: 200, body: { hello: "ada" } });
    const missing = await fetch(`${base}/nope`);
    assert.equal(missing.status, 404);
    assert.equal(await missing.text(), "express 404");
    for (const mode of ["polling", "websocket", "upgrade"]) {
      const client = await h.connect(base, { mode });
      assert.equal(await client.timeout(2000).emitWithAck("double", 21), 42);
      client.disconnect();
    }
  } finally {
    await io.close();
  }
});

test("examples/node/express.js: routes that use the Socket.IO server", async () => {
  const example = await startExample("express.js");
  try {
    const base = example.url.replace(/\/$/, "");
    const page = await fetch(`${base}/`);
    assert.match(await page.text(), /socket\.io\/socket\.io\.js/);

    const anonymous = h.client(base);
    const [err] = await h.once(anonymous, "connect_error");
    assert.equal(err.message, "a name is required");
    assert.deepEqual(err.data, { hint: "connect with { auth: { name } }" });

    const client = await h.connect(base, { auth: { name: "ada" } });
    const rooms = await client.timeout(2000).emitWithAck("join", "lobby");
    assert.deepEqual(rooms.sort(), [client.id, "lobby"].sort());

    const listed = await json(`${base}/api/sockets`);
    assert.equal(listed.body.length, 1);
    assert.equal(listed.body[0].id, client.id);
    assert.deepEqual([...listed.body[0].rooms].sort(), [client.id, "lobby"].sort());
    assert.deepEqual(listed.body[0].data, { name: "ada" });

    const news = h.once(client, "news");
    const sent = await json(`${base}/api/news`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ room: "lobby", text: "from express" }),
    });
    assert.deepEqual(sent, { status: 200, body: { sent: true } });
    assert.deepEqual(await news, ["from express"]);
  } finally {
    const { code } = await example.stop();
    assert.equal(code, 0, example.output());
  }
});

// An upgrade client that goes away while its WebSocket probe is still open: the probe's end
// reached JavaScript after the close had stopped reading roomcast's records, so that Node
// socket was never ended and http.Server#close() waited for it forever (about 1 run in 10).
test("io.close() of an attached express server ends every upgrade connection, 30 times", async () => {
  const ITERATIONS = 30;
  for (let i = 0; i < ITERATIONS; i++) {
    const httpServer = http.createServer(express());
    const io = new Server(httpServer);
    io.on("connection", (socket) => socket.on("double", (n, ack) => ack(n * 2)));
    await new Promise((resolve) => httpServer.listen(0, "127.0.0.1", resolve));
    const base = `http://127.0.0.1:${httpServer.address().port}`;
    const client = await h.connect(base, { mode: "upgrade" });
    assert.equal(await client.timeout(2000).emitWithAck("double", 21), 42);
    client.disconnect();
    await h.within(io.close(), `io.close() in iteration ${i + 1} of ${ITERATIONS}`, 5000);
  }
});
