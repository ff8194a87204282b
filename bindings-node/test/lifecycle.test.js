"use strict";

// io.close() is done when it calls back: the port is free and io.sockets.sockets is empty by
// the time a client hears its disconnect; the server can listen again afterwards; attach()
// takes options. Races, so each case runs many rounds.

const assert = require("node:assert/strict");
const http = require("node:http");
const net = require("node:net");
const { io: ioClient } = require("socket.io-client");
const { Server } = require("roomcast");
const h = require("./helpers");

const ROUNDS_HTTP = Number(process.env.LIFECYCLE_ROUNDS || 150);
const ROUNDS_OWN = Number(process.env.LIFECYCLE_ROUNDS || 100);

// On the address the servers listen on: the same port number may be another connection's
// source port on another loopback address, which a wildcard probe would trip over.
function portIsFree(port) {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once("error", (err) => resolve(err.code));
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(true)));
  });
}

/** One round: a client connects, io.close(); when the client hears `disconnect`, what does
 *  it find? */
async function closeRound(io, port) {
  const client = ioClient(`http://127.0.0.1:${port}`, { transports: ["websocket"], reconnection: false, forceNew: true });
  try {
    await h.once(client, "connect");
    const heard = new Promise((resolve) => {
      client.once("disconnect", () => resolve({ size: io.sockets.sockets.size, free: portIsFree(port) }));
    });
    io.close();
    const { size, free } = await h.within(heard, "the client's disconnect");
    return { size, free: await free };
  } finally {
    client.close();
  }
}

h.test("attached to an http.Server: once a client hears its disconnect the port is free and io.sockets is empty", { timeout: 120000 }, async () => {
  const bad = [];
  for (let i = 0; i < ROUNDS_HTTP; i++) {
    const srv = http.createServer();
    await new Promise((resolve) => srv.listen(0, "127.0.0.1", resolve));
    const { port } = srv.address();
    const io = new Server(srv);
    const { size, free } = await closeRound(io, port);
    await io.close();
    if (size !== 0 || free !== true) bad.push({ round: i, size, free });
  }
  assert.deepEqual(bad, [], `${bad.length} of ${ROUNDS_HTTP} rounds: ${JSON.stringify(bad.slice(0, 3))}`);
});

h.test("own listener: once a client hears its disconnect the port is free and io.sockets is empty", { timeout: 120000 }, async () => {
  const bad = [];
  for (let i = 0; i < ROUNDS_OWN; i++) {
    const io = new Server(0, { host: "127.0.0.1" });
    const { port } = io.address();
    const { size, free } = await closeRound(io, port);
    await io.close();
    if (size !== 0 || free !== true) bad.push({ round: i, size, free });
  }
  assert.deepEqual(bad, [], `${bad.length} of ${ROUNDS_OWN} rounds: ${JSON.stringify(bad.slice(0, 3))}`);
});

h.test("close() then listen() on the same port: the server serves again, listeners kept", async () => {
  const io = new Server(0, { host: "127.0.0.1" });
  const { port } = io.address();
  const chat = io.of("/chat");
  io.of(/^\/room-\d+$/).on("connection", (s) => s.emit("child", s.nsp.name));
  chat.use((socket, next) => next());
  chat.on("connection", (socket) => socket.on("ping", (ack) => ack("pong")));
  const url = `http://127.0.0.1:${port}`;
  const first = await h.connect(url, { nsp: "/chat" });
  assert.equal(await first.timeout(2000).emitWithAck("ping"), "pong");
  const child = await h.connect(url, { nsp: "/room-1" });
  await new Promise((resolve) => io.close(resolve));
  io.listen(port);
  try {
    assert.equal(io.address().port, port);
    const again = await h.connect(url, { nsp: "/chat" });
    assert.equal(await again.timeout(2000).emitWithAck("ping"), "pong");
    const childAgain = h.client(url, { nsp: "/room-2" });
    assert.deepEqual(await h.once(childAgain, "child"), ["/room-2"]);
  } finally {
    first.close();
    child.close();
    await io.close();
  }
});

h.test("close() then attach() to another http.Server serves there", async () => {
  const io = new Server(0, { host: "127.0.0.1" });
  io.on("connection", (socket) => socket.emit("hello"));
  await io.close();
  const srv = http.createServer();
  await new Promise((resolve) => srv.listen(0, "127.0.0.1", resolve));
  io.attach(srv);
  try {
    const client = h.client(`http://127.0.0.1:${srv.address().port}`);
    await h.once(client, "hello");
  } finally {
    await io.close();
  }
});

h.test("listen() while close() is still running says so", async () => {
  const io = new Server(0, { host: "127.0.0.1" });
  const closing = io.close();
  assert.throws(() => io.listen(0), /closing; listen or attach again once close\(\) has called back/);
  await closing;
});

h.test("attach(srv, opts) merges opts over the constructor's, as socket.io does", async () => {
  const io = new Server({ pingTimeout: 6000 });
  const srv = http.createServer();
  await new Promise((resolve) => srv.listen(0, "127.0.0.1", resolve));
  io.attach(srv, { pingInterval: 24000 });
  try {
    assert.equal(io.eio.opts.pingTimeout, 6000);
    assert.equal(io.eio.opts.pingInterval, 24000);
    const res = await fetch(`http://127.0.0.1:${srv.address().port}/socket.io/?EIO=4&transport=polling`);
    const open = JSON.parse((await res.text()).slice(1));
    assert.equal(open.pingInterval, 24000);
    assert.equal(open.pingTimeout, 6000);
  } finally {
    await io.close();
  }
});

h.test("listen(port, opts) merges opts too", async () => {
  const io = new Server({ pingTimeout: 7000 });
  io.listen(0, { pingInterval: 23000, host: "127.0.0.1" });
  try {
    const res = await fetch(`http://127.0.0.1:${io.address().port}/socket.io/?EIO=4&transport=polling`);
    const open = JSON.parse((await res.text()).slice(1));
    assert.equal(open.pingInterval, 23000);
    assert.equal(open.pingTimeout, 7000);
  } finally {
    await io.close();
  }
});

require("node:test").after(() => h.cleanup());
