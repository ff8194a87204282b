"use strict";

// socket.io v2 clients (Engine.IO v3, Socket.IO protocol v4) next to v4 clients on one server
// started with ALLOW_EIO3=1: namespaces, auth through the query, rooms, acks and binary, over
// polling (binary and base64 payloads) and websocket.

const { before, after } = require("node:test");
const assert = require("node:assert/strict");
const h = require("../harness");
const ioV2 = require("socket.io-client-v2");

let server;
let refusing;

before(async () => {
  server = await h.startServer({ env: { ALLOW_EIO3: "1" } });
  refusing = await h.startServer();
});

const v2Sockets = new Set();
after(async () => {
  for (const s of v2Sockets) s.close();
  h.closeAllClients();
  await Promise.all([server && server.stop(), refusing && refusing.stop()]);
});

const MODES = {
  websocket: { transports: ["websocket"] },
  polling: { transports: ["polling"] },
  "polling-b64": { transports: ["polling"], forceBase64: true },
  upgrade: { transports: ["polling", "websocket"] },
};

function connectV2(target, nsp = "/", mode = "websocket", extra = {}) {
  const socket = ioV2(`${target.url}${nsp}`, { forceNew: true, reconnection: false, ...MODES[mode], ...extra });
  v2Sockets.add(socket);
  return socket;
}

async function connectedV2(target, nsp, mode, extra) {
  const socket = connectV2(target, nsp, mode, extra);
  await h.once(socket, "connect");
  return socket;
}

function ackV2(socket, event, ...args) {
  return h.within(new Promise((resolve) => socket.emit(event, ...args, (...res) => resolve(res))), 3000, `ack of ${event}`);
}

for (const mode of Object.keys(MODES)) {
  h.test(`[v2 ${mode}] connects to / implicitly with an id derived from the engine sid`, async () => {
    const socket = await connectedV2(server, "/", mode);
    assert.equal(socket.id, socket.io.engine.id);
    assert.deepEqual(await ackV2(socket, "echo", 1, "two", { three: [3] }), [1, "two", { three: [3] }]);
  });

  h.test(`[v2 ${mode}] a namespace: the seed greeting and the nsp#sid id`, async () => {
    const socket = connectV2(server, "/my-namespace", mode);
    const [hi] = await h.once(socket, "hi");
    assert.equal(hi, "Hello everyone!");
    assert.equal(socket.id, `/my-namespace#${socket.io.engine.id}`);
  });

  h.test(`[v2 ${mode}] binary both ways`, async () => {
    const socket = await connectedV2(server, "/", mode);
    const [back] = await ackV2(socket, "binary", { file: Buffer.from([1, 2, 3]) });
    assert.deepEqual([...back.file], [1, 2, 3]);
  });

  h.test(`[v2 ${mode}] rooms and broadcasts reach v2 and v4 clients alike`, async () => {
    const room = h.unique("mixed");
    const v2 = await connectedV2(server, "/", mode);
    const v4 = await h.connect(server);
    await ackV2(v2, "join", room);
    await h.emitWithAck(v4, "join", room);
    const got2 = h.once(v2, "news");
    const got4 = h.once(v4, "news");
    await h.emitWithAck(v4, "emit-to", { rooms: room, event: "news", args: ["x", Buffer.from([9])] });
    const [x2, b2] = await got2;
    const [x4, b4] = await got4;
    assert.equal(x2, "x");
    assert.equal(x4, "x");
    assert.deepEqual([...b2], [9]);
    assert.deepEqual([...b4], [9]);
  });

  h.test(`[v2 ${mode}] server to client acks`, async () => {
    const socket = await connectedV2(server, "/", mode);
    socket.on("q", (n, cb) => cb(n * 2));
    const answer = await ackV2(socket, "ask", { event: "q", args: [21], timeout: 2000 });
    assert.deepEqual(answer, [{ err: null, res: [42] }]);
  });
}

h.test("[v2] auth travels in the namespace query; a refusal carries the error data", async () => {
  const ok = connectV2(server, "/auth", "websocket", { query: { token: "secret" } });
  const [welcome] = await h.once(ok, "welcome");
  assert.equal(welcome.token, "secret");
  const bad = connectV2(server, "/auth", "websocket", { query: { token: "nope" } });
  const [err] = await h.once(bad, "error");
  assert.deepEqual(err, { reason: "bad token" });
});

h.test("[v2] an unknown namespace is refused with \"Invalid namespace\"", async () => {
  const socket = connectV2(server, "/nope", "websocket");
  const [err] = await h.once(socket, "error");
  assert.deepEqual(err, { message: "Invalid namespace" });
});

h.test("[v2] the server disconnects a v2 socket: \"io server disconnect\"", async () => {
  const socket = await connectedV2(server, "/", "websocket");
  const gone = h.once(socket, "disconnect");
  socket.emit("disconnect-me", false);
  assert.equal((await gone)[0], "io server disconnect");
});

h.test("[v2] without ALLOW_EIO3 a v2 client is refused", async () => {
  const socket = connectV2(refusing, "/", "polling");
  await h.once(socket, "connect_error");
  const res = await fetch(`${refusing.url}/socket.io/?EIO=3&transport=polling`);
  assert.equal(res.status, 400);
  assert.deepEqual(await res.json(), { code: 5, message: "Unsupported protocol version" });
});
