"use strict";

// The server-side Socket: identity, handshake, rooms, data, listeners, emits and acks both
// ways, broadcasting from a socket, middlewares, catch-all listeners, disconnection.

const { before, after, afterEach } = require("node:test");
const assert = require("node:assert/strict");
const h = require("./helpers");
const { test } = h;

let io;
before(() => {
  io = h.startServer();
});
afterEach(() => {
  io.removeAllListeners("connection");
});
after(() => h.cleanup());

/** A connected pair: the client and its server-side socket. */
async function pair(opts) {
  const connection = h.nextConnection(io);
  const client = await h.connect(io, opts);
  return { client, socket: await connection };
}

test("id, handshake, rooms and connected state", async () => {
  const { client, socket } = await pair({ auth: { token: "t" }, query: { q: "1" } });
  assert.equal(socket.id, client.id);
  assert.equal(socket.id.length, 20);
  assert.equal(socket.connected, true);
  assert.deepEqual(socket.handshake.auth, { token: "t" });
  assert.equal(socket.handshake.query.q, "1");
  assert.equal(typeof socket.handshake.issued, "number");
  assert.ok(["127.0.0.1", "::ffff:127.0.0.1"].includes(socket.handshake.address));
  assert.ok(socket.rooms instanceof Set);
  assert.deepEqual([...socket.rooms], [socket.id]);
  assert.equal(socket.conn.transport.name, "websocket");
  assert.equal(socket.nsp, io.sockets);
});

test("on, once and off receive the client's events", async () => {
  const { client, socket } = await pair();
  const seen = [];
  const onceSeen = [];
  const listener = (...args) => seen.push(args);
  socket.on("ping", listener);
  socket.once("ping", (...args) => onceSeen.push(args));
  client.emit("ping", 1, "two", { three: 3 });
  client.emit("ping", 2);
  await h.within(
    new Promise((resolve) => socket.on("ping", () => seen.length === 2 && resolve())),
    "two pings",
  );
  socket.off("ping", listener);
  client.emit("ping", 3);
  assert.deepEqual(await client.timeout(200).emitWithAck("noop-check").catch(() => "no ack"), "no ack");
  assert.deepEqual(seen, [[1, "two", { three: 3 }], [2]]);
  assert.deepEqual(onceSeen, [[1, "two", { three: 3 }]]);
});

test("client acks: the listener's last argument answers once", async () => {
  const { client, socket } = await pair();
  socket.on("sum", (a, b, ack) => {
    ack(a + b, "extra");
    ack("ignored");
  });
  assert.deepEqual(await h.within(new Promise((r) => client.emit("sum", 2, 3, (...res) => r(res))), "ack"), [5, "extra"]);
  // emitWithAck on the client gets the first argument
  assert.equal(await client.timeout(2000).emitWithAck("sum", 4, 4), 8);
});

test("server acks: emit with a callback, timeout(ms).emit and emitWithAck", async () => {
  const { client, socket } = await pair();
  client.on("question", (q, ack) => ack(`answer to ${q}`, 42));
  client.on("silent", () => {});

  const plain = await h.within(new Promise((r) => socket.emit("question", "a", (...res) => r(res))), "ack");
  assert.deepEqual(plain, ["answer to a", 42]);

  const timed = await h.within(new Promise((r) => socket.timeout(1000).emit("question", "b", (...res) => r(res))), "ack");
  assert.deepEqual(timed, [null, "answer to b", 42]);

  const started = Date.now();
  const [err] = await h.within(new Promise((r) => socket.timeout(100).emit("silent", (...res) => r(res))), "timeout");
  assert.equal(err.message, "operation has timed out");
  assert.ok(Date.now() - started >= 90);

  assert.equal(await socket.emitWithAck("question", "c"), "answer to c");
  await assert.rejects(socket.timeout(100).emitWithAck("silent"), /operation has timed out/);
});

test("join, leave and rooms", async () => {
  const { socket } = await pair();
  socket.join("a");
  socket.join(["b", "c"]);
  assert.deepEqual([...socket.rooms].sort(), [socket.id, "a", "b", "c"].sort());
  socket.leave("b");
  assert.deepEqual([...socket.rooms].sort(), [socket.id, "a", "c"].sort());
  assert.deepEqual([...io.sockets.adapter.rooms.get("a")], [socket.id]);
  assert.deepEqual([...io.sockets.adapter.sids.get(socket.id)].sort(), [socket.id, "a", "c"].sort());
});

test("leaveAll (socket.io's, untyped as there) leaves every room, its own id's too", async () => {
  const { client, socket } = await pair();
  socket.join(["left-1", "left-2"]);
  socket.leaveAll();
  assert.equal(socket.rooms.size, 0);
  assert.equal(io.sockets.adapter.rooms.has("left-1"), false);
  assert.equal(io.sockets.adapter.sids.has(socket.id), false);
  // Nothing addressed to its rooms reaches it any more; a direct emit still does.
  const seen = [];
  client.on("m", (v) => seen.push(v));
  io.to("left-1").emit("m", "to a room it left");
  io.to(socket.id).emit("m", "to its id");
  socket.emit("m", "direct");
  await h.within(new Promise((resolve) => client.on("m", (v) => v === "direct" && resolve())), "direct emit");
  assert.deepEqual(seen, ["direct"]);
});

test("broadcast, to, in and except from a socket skip the sender", async () => {
  const a = await pair();
  const b = await pair();
  const c = await pair();
  b.socket.join("room");
  c.socket.join("room");
  c.socket.join("quiet");

  const got = { a: [], b: [], c: [] };
  for (const [name, p] of Object.entries({ a, b, c })) p.client.on("news", (x) => got[name].push(x));
  const settled = () => h.sleep(150);

  a.socket.broadcast.emit("news", "broadcast");
  b.socket.to("room").emit("news", "to room");
  a.socket.in("room").except("quiet").emit("news", "in room except quiet");
  a.socket.except("room").emit("news", "except room");
  await settled();
  assert.deepEqual(got.a, []);
  assert.deepEqual(got.b, ["broadcast", "in room except quiet"]);
  assert.deepEqual(got.c, ["broadcast", "to room"]);
});

test("socket.data is an object, and fetchSockets() sees its changes", async () => {
  const { socket } = await pair();
  assert.deepEqual(socket.data, {});
  socket.data.user = { name: "ada" };
  socket.data.user.roles = ["admin"];
  socket.data.user.roles.push("ops");
  await Promise.resolve();
  const [found] = (await io.fetchSockets()).filter((s) => s.id === socket.id);
  assert.equal(found, socket, "a local socket is returned as itself");
  assert.deepEqual(JSON.parse(socket._native.data()), { user: { name: "ada", roles: ["admin", "ops"] } });
  socket.data = { replaced: true };
  await Promise.resolve();
  assert.deepEqual(JSON.parse(socket._native.data()), { replaced: true });
});

test("socket.use: next() passes, next(err) drops the event and emits error", async () => {
  const { client, socket } = await pair();
  const order = [];
  socket.use(([event, ...args], next) => {
    order.push(`use:${event}`);
    if (event === "forbidden") return next(new Error("not allowed"));
    args.length;
    next();
  });
  socket.on("allowed", () => order.push("allowed"));
  socket.on("forbidden", () => order.push("forbidden"));
  const error = h.once(socket, "error");
  client.emit("forbidden");
  assert.equal((await error)[0].message, "not allowed");
  const allowed = h.once(socket, "allowed");
  client.emit("allowed");
  await allowed;
  assert.deepEqual(order, ["use:forbidden", "use:allowed", "allowed"]);
});

test("onAny, offAny and onAnyOutgoing", async () => {
  const { client, socket } = await pair();
  const incoming = [];
  const outgoing = [];
  const any = (event, ...args) => incoming.push([event, ...args]);
  socket.onAny(any);
  socket.onAnyOutgoing((event, ...args) => outgoing.push([event, ...args]));
  assert.deepEqual(socket.listenersAny(), [any]);
  const first = h.once(socket, "probe");
  client.emit("probe", 1, "x");
  await first;
  socket.offAny(any);
  const second = h.once(socket, "probe");
  client.emit("probe", 2);
  await second;
  assert.deepEqual(incoming, [["probe", 1, "x"]]);

  socket.emit("out", "direct");
  io.to(socket.id).emit("out", "broadcast");
  // outgoing listeners run before the socket's next incoming event
  const marker = h.once(socket, "marker");
  await h.once(client, "out");
  client.emit("marker");
  await marker;
  assert.deepEqual(outgoing, [["out", "direct"], ["out", "broadcast"]]);
});

test("disconnect(false): 'server namespace disconnect'; disconnecting still sees the rooms", async () => {
  const { client, socket } = await pair();
  socket.join("kept-until-disconnecting");
  const disconnecting = new Promise((resolve) => socket.on("disconnecting", (reason) => resolve([reason, [...socket.rooms]])));
  const disconnect = new Promise((resolve) => socket.on("disconnect", (reason) => resolve([reason, [...socket.rooms]])));
  const clientSide = h.once(client, "disconnect");
  socket.disconnect();
  const [reasonA, roomsA] = await h.within(disconnecting, "disconnecting");
  assert.equal(reasonA, "server namespace disconnect");
  assert.ok(roomsA.includes("kept-until-disconnecting"));
  const [reasonB, roomsB] = await h.within(disconnect, "disconnect");
  assert.equal(reasonB, "server namespace disconnect");
  assert.deepEqual(roomsB, []);
  assert.equal((await clientSide)[0], "io server disconnect");
  assert.equal(socket.connected, false);
  assert.equal(io.sockets.sockets.has(socket.id), false);
});

test("disconnect(false) has run both listeners and left every room when it returns, as socket.io's does", async () => {
  const { socket } = await pair();
  socket.join("r");
  const seen = [];
  socket.on("disconnecting", (reason) => seen.push(["disconnecting", reason, [...socket.rooms].sort()]));
  socket.on("disconnect", (reason) => seen.push(["disconnect", reason, [...socket.rooms]]));
  socket.disconnect();
  assert.deepEqual(seen, [
    ["disconnecting", "server namespace disconnect", ["r", socket.id].sort()],
    ["disconnect", "server namespace disconnect", []],
  ]);
  assert.equal(socket.connected, false);
  assert.equal(io.sockets.sockets.has(socket.id), false);
  assert.equal(io.of("/").adapter.rooms.has("r"), false);
  assert.equal(io.of("/").adapter.rooms.has(socket.id), false);
  socket.join("after");
  assert.equal(io.of("/").adapter.rooms.has("after"), false, "a join after disconnect() is ignored");
});

test("disconnect(true) closes the connection; the client's own disconnect is 'client namespace disconnect'", async () => {
  const a = await pair();
  const reasonA = h.once(a.socket, "disconnect");
  a.socket.disconnect(true);
  assert.deepEqual(await reasonA, ["server namespace disconnect"]);

  const b = await pair();
  const reasonB = h.once(b.socket, "disconnect");
  b.client.disconnect();
  assert.deepEqual(await reasonB, ["client namespace disconnect"]);

  const c = await pair();
  const reasonC = h.once(c.socket, "disconnect");
  c.client.io.engine.close();
  assert.deepEqual(await reasonC, ["transport close"]);
});

test("volatile, compress and send", async () => {
  const { client, socket } = await pair();
  const messages = [];
  client.on("message", (...args) => messages.push(args));
  const got = h.once(client, "v");
  socket.volatile.compress(false).emit("v", 1);
  assert.deepEqual(await got, [1]);
  socket.send("hello", "world");
  await h.within(new Promise((resolve) => client.once("message", resolve)), "message");
  assert.deepEqual(messages, [["hello", "world"]]);
});

test("reserved event names cannot be emitted", async () => {
  const { socket } = await pair();
  assert.throws(() => socket.emit("disconnect"), /reserved/);
  assert.throws(() => io.emit("connect"), /reserved/);
});
