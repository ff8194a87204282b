"use strict";

// Orders a socket.io user relies on (issue: what the Node user sees of the core's ordering).

const assert = require("node:assert/strict");
const { after } = require("node:test");
const http = require("node:http");
const h = require("./helpers");
const { Server } = require("roomcast");

after(() => h.cleanup());

const ROUNDS = 200;

const attachedServers = [];
after(() => Promise.all(attachedServers.map((s) => new Promise((resolve) => s.close(() => resolve())))));

async function start(where) {
  if (where === "own listener") {
    const io = h.startServer();
    return { io, url: io };
  }
  const httpServer = http.createServer();
  const io = new Server(httpServer);
  await new Promise((resolve) => httpServer.listen(0, "127.0.0.1", resolve));
  attachedServers.push(httpServer);
  return { io, url: `http://127.0.0.1:${httpServer.address().port}` };
}

// The client sends the event and, a tick later, its DISCONNECT. socket.io reads both before
// it handles the event (the client runs in the same process, on the same thread) and drops
// it. Over polling both travel in one request. Over WebSocket they are separate frames, which
// roomcast's I/O thread may read apart: the event's batch then waits until the bytes behind
// it are read (see the binding's held_batch).
const SETUPS = [
  ["own listener", "polling"],
  ["own listener", "websocket"],
  ["own listener", "upgrade"],
  ["attached", "websocket"],
];

for (const [where, mode] of SETUPS) {
  h.test(`[${where}, ${mode}] an event sent right before disconnect() is dropped, as socket.io does (${ROUNDS} rounds)`, { timeout: 60000 }, async () => {
    const { io, url } = await start(where);
    let handled = 0;
    io.on("connection", (socket) => {
      socket.on("test", () => {
        handled += 1;
      });
    });
    for (let i = 0; i < ROUNDS; i++) {
      const connection = h.nextConnection(io);
      const client = await h.connect(url, { mode });
      const socket = await connection;
      const gone = h.once(socket, "disconnect");
      client.emit("test", Buffer.alloc(10));
      client.disconnect();
      assert.deepEqual(await gone, ["client namespace disconnect"]);
    }
    assert.equal(handled, 0, `handled in ${handled} of ${ROUNDS} rounds`);
  });
}

// socket.io leaves the rooms within disconnect(): a client (in the same process) that hears
// the DISCONNECT finds none left. The core's writer may send the packet before the call
// returns, so the rooms must be gone by then.
for (const where of ["own listener", "attached"]) {
  h.test(`[${where}] a client that hears the server's disconnect() finds the socket out of every room (${ROUNDS} rounds)`, { timeout: 60000 }, async () => {
    const { io, url } = await start(where);
    io.on("connection", (socket) => {
      socket.disconnect();
      socket.join("room1");
    });
    let left = 0;
    for (let i = 0; i < ROUNDS; i++) {
      const client = h.client(url, { transports: ["polling", "websocket"] });
      await h.within(new Promise((resolve) => client.once("disconnect", () => {
        if (io.of("/").adapter.rooms.size !== 0) left += 1;
        resolve();
      })), "the server's disconnect");
    }
    assert.equal(left, 0, `rooms left in ${left} of ${ROUNDS} rounds`);
  });
}

h.test("events after the server's own socket.disconnect() are not handled", async () => {
  const io = h.startServer();
  const seen = [];
  io.on("connection", (socket) => {
    socket.on("a", () => {
      seen.push("a");
      socket.disconnect();
    });
    socket.on("b", () => seen.push("b"));
  });
  const client = await h.connect(io);
  const gone = h.once(client, "disconnect");
  client.emit("a");
  client.emit("b");
  await gone;
  assert.deepEqual(seen, ["a"]);
});
