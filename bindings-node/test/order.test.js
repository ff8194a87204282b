"use strict";

// Orders a socket.io user relies on (issue: what the Node user sees of the core's ordering).

const assert = require("node:assert/strict");
const { after } = require("node:test");
const h = require("./helpers");

after(() => h.cleanup());

const ROUNDS = 30;

// Over polling the client's event and its DISCONNECT travel in one request, so they reach the
// server together, as they reach socket.io. Over WebSocket they are separate frames, and
// whether both are read before the event is handled depends on timing (with socket.io too).
for (const mode of ["polling"]) {
  h.test(`[${mode}] an event sent right before disconnect() is dropped, as socket.io does (${ROUNDS} rounds)`, { timeout: 60000 }, async () => {
    const io = h.startServer();
    let handled = 0;
    io.on("connection", (socket) => {
      socket.on("test", () => {
        handled += 1;
      });
    });
    for (let i = 0; i < ROUNDS; i++) {
      const connection = h.nextConnection(io);
      const client = await h.connect(io, { mode });
      const socket = await connection;
      const gone = h.once(socket, "disconnect");
      client.emit("test", Buffer.alloc(10));
      client.disconnect();
      assert.deepEqual(await gone, ["client namespace disconnect"]);
    }
    assert.equal(handled, 0, `handled in ${handled} of ${ROUNDS} rounds`);
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
