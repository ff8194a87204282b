"use strict";

// The limits of roomcast's own listener, set with socket.io-style option names: half-sent
// requests are cut off after httpHeaderTimeout, connections past maxConnectionsPerIp are
// closed at once, handshakes past maxSessions get 503, and io._native.stats() counts them.

const { afterEach } = require("node:test");
const assert = require("node:assert/strict");
const net = require("node:net");
const h = require("./helpers");
const { test } = h;

afterEach(() => h.cleanup());

/** A connection that sends half a request head; resolves with its lifetime when closed. */
function halfRequest(io) {
  const started = Date.now();
  const sock = net.connect({ port: io.address().port, host: "127.0.0.1" });
  sock.on("error", () => {});
  sock.on("connect", () => sock.write("GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n"));
  return new Promise((resolve) => sock.on("close", () => resolve(Date.now() - started)));
}

test("httpHeaderTimeout and maxConnectionsPerIp cut off slow peers; a client is served meanwhile", async () => {
  const io = h.startServer({ httpHeaderTimeout: 300, maxConnectionsPerIp: 3 });
  io.on("connection", (socket) => socket.on("echo", (v, ack) => ack(v)));
  const client = await h.connect(io);
  // The client holds one place; two attackers get the rest, the other four are refused.
  const ends = [];
  for (let i = 0; i < 6; i++) ends.push(halfRequest(io));
  assert.equal(await h.within(client.emitWithAck("echo", "served"), "echo"), "served");
  const lifetimes = await h.within(Promise.all(ends), "attackers closed", 5000);
  assert.equal(lifetimes.filter((ms) => ms >= 250).length, 2, `lifetimes ${lifetimes}`);
  const stats = io._native.stats();
  assert.equal(stats.refusedConnections, 4);
  assert.equal(stats.timedOutRequests, 2);
  assert.ok(client.connected);
});

test("connections that send nothing take no place under maxConnectionsPerIp (accepted once their request arrives)", async () => {
  const io = h.startServer({ maxConnectionsPerIp: 2 });
  io.on("connection", (socket) => socket.on("echo", (v, ack) => ack(v)));
  const idle = [];
  for (let i = 0; i < 4; i++) {
    const sock = net.connect({ port: io.address().port, host: "127.0.0.1" });
    sock.on("error", () => {});
    idle.push(sock);
  }
  await h.within(Promise.all(idle.map((s) => new Promise((resolve) => s.on("connect", resolve)))), "idle connects");
  try {
    // Had the idle ones been accepted, two would hold both places and this one be refused.
    const client = await h.connect(io);
    assert.equal(await h.within(client.emitWithAck("echo", "served"), "echo"), "served");
    assert.equal(io._native.stats().refusedConnections, 0);
  } finally {
    for (const s of idle) s.destroy();
  }
});

test("maxSessions answers further handshakes with 503", async () => {
  const io = h.startServer({ maxSessions: 1 });
  await h.connect(io);
  const res = await fetch(`${h.urlOf(io)}/socket.io/?EIO=4&transport=polling`);
  assert.equal(res.status, 503);
  assert.deepEqual(await res.json(), { code: 6, message: "Server full" });
  assert.equal(io._native.stats().refusedSessions, 1);
});

test("limit options are checked", () => {
  const { Server } = require("roomcast");
  assert.throws(() => new Server({ maxConnectionsPerIp: 0 }), /maxConnectionsPerIp/);
  assert.throws(() => new Server({ httpHeaderTimeout: -1 }), /httpHeaderTimeout/);
});
