"use strict";

// The Redis adapter (createAdapter) and the Emitter against a real, throwaway redis-server:
// two roomcast servers in this process form a cluster; an Emitter reaches real socket.io-client
// clients of both (rooms, namespaces, binary, socketsJoin, disconnectSockets, serverSideEmit).

const { before, after } = require("node:test");
const assert = require("node:assert/strict");
const { Server, createAdapter, Emitter } = require("roomcast");
const { startRedis } = require("../../tests/harness/redis");
const h = require("./helpers");
const { test } = h;

let redis;
let a;
let b;
let emitter;

/** Retries `attempt` (which waits on an event with its own bound) until it succeeds: the
 *  nodes subscribe to Redis in the background. */
async function untilThrough(attempt, what, totalMs = 10000) {
  const deadline = Date.now() + totalMs;
  let last;
  while (Date.now() < deadline) {
    try {
      return await attempt();
    } catch (err) {
      last = err;
    }
  }
  throw new Error(`${what}: not through within ${totalMs} ms (${last && last.message})`);
}

/** Collects every event a client receives, to show that something did not arrive: a marker
 *  published after it arrives with nothing unexpected before it. */
function recorder(client) {
  const seen = [];
  client.onAny((event, ...args) => seen.push([event, ...args]));
  return seen;
}

/** A connected client and its server-side socket (the server's connection listeners may run
 *  just after the client sees its CONNECT). */
async function pair(io, nsp = "/") {
  const connection = h.nextConnection(io.of(nsp));
  const client = await h.connect(io, { nsp });
  const socket = await connection;
  assert.equal(socket.id, client.id);
  return [client, socket];
}

before(async () => {
  redis = await startRedis();
  // socket.io's order: new Server(), then io.adapter(), then listen.
  a = new Server({ pingInterval: 60000 });
  a.adapter(createAdapter(redis.url));
  a.listen(0);
  // The constructor option, with options.
  b = new Server(0, { adapter: createAdapter({ url: redis.url, key: "socket.io", requestsTimeout: 2000 }) });
  for (const io of [a, b]) io.of("/chat");
  emitter = new Emitter({ url: redis.url });
  // Both nodes subscribed: an emitter broadcast reaches a client of each.
  for (const io of [a, b]) {
    const probe = await h.connect(h.urlOf(io));
    await untilThrough(async () => {
      const got = h.once(probe, "probe", 250);
      await emitter.emit("probe");
      await got;
    }, "subscription");
    probe.disconnect();
  }
});

after(async () => {
  h.cleanup();
  await Promise.all([a && a.close(), b && b.close()]);
  if (redis) await redis.stop();
});

test("createAdapter: io.adapter() returns it; bad values are refused with a clear error", () => {
  assert.equal(a.adapter().url, redis.url);
  assert.equal(a.adapter().key, "socket.io");
  assert.equal(b.adapter().requestsTimeout, 2000);
  assert.throws(() => createAdapter("http://localhost"), /redis:\/\/ or rediss:\/\//);
  assert.throws(() => createAdapter({ url: redis.url, requestsTimeout: -1 }), /requestsTimeout/);
  assert.throws(() => new Server().adapter(function SocketIoAdapter() {}), /roomcast's createAdapter/);
  assert.throws(() => a.adapter(createAdapter(redis.url)), /before the server listens/);
});

test("io.adapter() after namespaces, middlewares and listeners were set up keeps them all", async () => {
  const io = new Server({ pingInterval: 60000 });
  const chat = io.of("/chat");
  chat.use((socket, next) => (socket.handshake.auth.ok ? next() : next(new Error("no"))));
  chat.on("connection", (socket) => socket.emit("welcome", socket.nsp.name));
  io.of(/^\/dyn-\d+$/).on("connection", (socket) => socket.emit("welcome", socket.nsp.name));
  io.adapter(createAdapter(redis.url));
  io.listen(0);
  try {
    const refused = h.client(io, { nsp: "/chat", auth: {} });
    assert.equal((await h.once(refused, "connect_error"))[0].message, "no");
    const client = h.client(io, { nsp: "/chat", auth: { ok: true } });
    assert.deepEqual(await h.once(client, "welcome"), ["/chat"]);
    const dyn = h.client(io, { nsp: "/dyn-7" });
    assert.deepEqual(await h.once(dyn, "welcome"), ["/dyn-7"]);
    // It is a cluster node: the emitter reaches its dynamic child namespace.
    await untilThrough(async () => {
      const got = h.once(dyn, "from-emitter", 250);
      await emitter.of("/dyn-7").emit("from-emitter", 1);
      assert.deepEqual(await got, [1]);
    }, "the recreated node's subscription");
  } finally {
    await io.close();
  }
});

test("Emitter: rooms and except reach the clients of both nodes, once each", async () => {
  const room = `room-${Date.now()}`;
  const [onA, socketA] = await pair(a);
  const [onB, socketB] = await pair(b);
  const [vipB, socketVip] = await pair(b);
  const outside = await h.connect(a);
  socketA.join(room);
  socketB.join(room);
  socketVip.join([room, "vip"]);
  const seenVip = recorder(vipB);
  const seenOutside = recorder(outside);
  const gotA = h.once(onA, "news");
  const gotB = h.once(onB, "news");
  await emitter.to(room).except("vip").emit("news", { n: 1 }, "x");
  assert.deepEqual(await gotA, [{ n: 1 }, "x"]);
  assert.deepEqual(await gotB, [{ n: 1 }, "x"]);
  const markers = [h.once(vipB, "marker"), h.once(outside, "marker")];
  await emitter.emit("marker");
  await Promise.all(markers);
  assert.deepEqual(seenVip, [["marker"]]);
  assert.deepEqual(seenOutside, [["marker"]]);
});

test("Emitter: of(nsp) reaches that namespace only; volatile and compress still deliver", async () => {
  const chatA = await h.connect(a, { nsp: "/chat" });
  const chatB = await h.connect(b, { nsp: "/chat" });
  const root = await h.connect(b);
  const seenRoot = recorder(root);
  const got = [h.once(chatA, "chat-news"), h.once(chatB, "chat-news")];
  await emitter.of("chat").volatile.compress(true).emit("chat-news", "hello");
  assert.deepEqual(await Promise.all(got), [["hello"], ["hello"]]);
  const marker = h.once(root, "marker");
  await emitter.emit("marker");
  await marker;
  assert.deepEqual(seenRoot, [["marker"]]);
});

test("Emitter: binary arguments arrive as binary, nested ones included", async () => {
  const onA = await h.connect(a);
  const onB = await h.connect(b);
  const got = [h.once(onA, "bin"), h.once(onB, "bin")];
  await emitter.emit("bin", Buffer.from([1, 2, 3]), { nested: new Uint8Array([4, 5]), text: "t" });
  for (const [first, second] of await Promise.all(got)) {
    assert.deepEqual([...Buffer.from(first)], [1, 2, 3]);
    assert.deepEqual([...Buffer.from(second.nested)], [4, 5]);
    assert.equal(second.text, "t");
  }
});

test("Emitter: socketsJoin then a broadcast to the room; socketsLeave takes them out", async () => {
  const target = `target-${Date.now()}`;
  const room = `joined-${Date.now()}`;
  const [onA, socketA] = await pair(a);
  const [onB, socketB] = await pair(b);
  const other = await h.connect(b);
  socketA.join(target);
  socketB.join(target);
  const seenOther = recorder(other);
  await emitter.in(target).socketsJoin(room);
  const got = [h.once(onA, "after-join"), h.once(onB, "after-join")];
  await emitter.to(room).emit("after-join", true);
  assert.deepEqual(await Promise.all(got), [[true], [true]]);
  assert.ok(socketB.rooms.has(room));
  assert.deepEqual([...(await a.of("/").adapter.allRooms())].filter((r) => r === room), [room]);

  await emitter.in(room).socketsLeave(room);
  const seenA = recorder(onA);
  await emitter.to(room).emit("after-leave");
  const marker = h.once(onA, "marker");
  await emitter.emit("marker");
  await marker;
  assert.deepEqual(seenA, [["marker"]]);
  assert.equal(socketB.rooms.has(room), false);
  assert.equal(seenOther.some(([e]) => e === "after-join"), false);
});

test("Emitter: disconnectSockets disconnects the selected clients of every node", async () => {
  const room = `bye-${Date.now()}`;
  const [onA, socketA] = await pair(a);
  const [onB, socketB] = await pair(b);
  const stays = await h.connect(b);
  socketA.join(room);
  socketB.join(room);
  const gone = [h.once(onA, "disconnect"), h.once(onB, "disconnect")];
  await emitter.to(room).disconnectSockets();
  assert.deepEqual((await Promise.all(gone)).map((args) => args[0]), ["io server disconnect", "io server disconnect"]);
  assert.equal(stays.connected, true);
});

test("Emitter: serverSideEmit reaches the io.on() listeners of every node", async () => {
  const heard = [a, b].map((io) => h.once(io, "reload"));
  await emitter.serverSideEmit("reload", { version: 2 }, "now");
  assert.deepEqual(await Promise.all(heard), [[{ version: 2 }, "now"], [{ version: 2 }, "now"]]);
});

test("Emitter: reserved event names and acknowledgements are refused", async () => {
  await assert.rejects(emitter.emit("connect"), /reserved/);
  await assert.rejects(emitter.emit("x", () => {}), /acknowledgements/);
  assert.throws(() => new Emitter("localhost:6379"), /redis:\/\//);
});

test("io.serverSideEmit reaches the other node's listener, with answers; fetchSockets spans both nodes", async () => {
  b.on("ping-nodes", (n, ack) => ack(`pong ${n} from b`));
  const heard = h.once(b, "fire");
  a.serverSideEmit("fire", 1);
  assert.deepEqual(await heard, [1]);
  assert.deepEqual(await a.serverSideEmitWithAck("ping-nodes", 7), ["pong 7 from b"]);

  const room = `fetch-${Date.now()}`;
  const [onA, socketA] = await pair(a);
  const [onB, socketB] = await pair(b);
  socketA.join(room);
  socketB.join(room);
  const found = await a.in(room).fetchSockets();
  assert.deepEqual(found.map((s) => s.id).sort(), [onA.id, onB.id].sort());
  // A broadcast with acks collects the answers of both nodes' clients.
  for (const c of [onA, onB]) c.on("question", (ack) => ack(c.id));
  const answers = await a.to(room).timeout(3000).emitWithAck("question");
  assert.deepEqual(answers.sort(), [onA.id, onB.id].sort());
});
