"use strict";

// "/async": the connection handler awaits a timer before it registers `echo`; events sent
// right after connecting must still reach it, in order, none lost.

const assert = require("node:assert/strict");
const h = require("../harness");
const { test, MODES } = h;

const CLIENTS = 200;
const PER_CLIENT = 3;

let server;
h.before(async () => {
  server = await h.startServer();
});
h.afterEach(() => h.closeAllClients());
h.after(async () => {
  h.closeAllClients();
  if (server) await server.stop();
});

/** Creates a client that emits PER_CLIENT echoes with acks as soon as it is connected. */
function eagerClient(mode, index) {
  const socket = h.createClient(server, { mode, nsp: "/async" });
  const acks = new Promise((resolve, reject) => {
    socket.once("connect_error", reject);
    socket.once("connect", () => {
      const received = [];
      for (let k = 0; k < PER_CLIENT; k++) {
        socket.emit("echo", index, k, (i, kk) => {
          received.push([i, kk]);
          if (received.length === PER_CLIENT) resolve(received);
        });
      }
    });
  });
  return { socket, acks };
}

for (const mode of MODES) {
  test(`[${mode}] ${CLIENTS} clients emitting on connect all get their acks, in order`, async () => {
    const clients = Array.from({ length: CLIENTS }, (_, i) => eagerClient(mode, i));
    const results = await h.within(
      Promise.all(clients.map((c) => c.acks)),
      10000,
      `acks of ${CLIENTS} /async clients`,
    );
    results.forEach((received, i) => {
      assert.deepEqual(
        received,
        Array.from({ length: PER_CLIENT }, (_, k) => [i, k]),
        `client ${i}`,
      );
    });
  });
}

test("an event emitted before the connection completes is not lost either", async () => {
  // socket.io-client buffers emits made before the CONNECT answer and sends them right after it
  const socket = h.createClient(server, { mode: "websocket", nsp: "/async" });
  const acked = h.emitWithAckArgs(socket, "echo", "early");
  assert.deepEqual(await acked, ["early"]);
  // without an ack the echo comes back as an event
  const back = h.once(socket, "echo");
  socket.emit("echo", "late");
  assert.deepEqual(await back, ["late"]);
});
