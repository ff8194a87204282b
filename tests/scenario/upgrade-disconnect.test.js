"use strict";

// A server-initiated disconnect while the polling→WebSocket upgrade is still under way: the
// DISCONNECT packet queued before the close must reach the client, whichever transport holds it
// when the connection closes, so the client sees "io server disconnect" and never
// "transport close" (which would make it reconnect). The race window is small: repeat it.

const assert = require("node:assert/strict");
const h = require("../harness");
const { test } = h;

const ITERATIONS = 30;

let server;

h.before(async () => {
  server = await h.startServer();
});
h.afterEach(() => h.closeAllClients());
h.after(async () => {
  h.closeAllClients();
  if (server) await server.stop();
});

test(`[upgrade] disconnect-me true right after connect: "io server disconnect", ${ITERATIONS} times`, async () => {
  const reasons = [];
  for (let i = 0; i < ITERATIONS; i++) {
    // not h.connect(): that waits for the upgrade, and the race is with the upgrade
    const socket = h.createClient(server, { mode: "upgrade" });
    await h.once(socket, "connect", 3000, { rejectOn: ["connect_error"] });
    const disconnected = h.once(socket, "disconnect", 3000).then(([reason]) => reason);
    socket.emit("disconnect-me", true);
    reasons.push(await disconnected);
    socket.io.engine.close();
  }
  const wrong = reasons.filter((r) => r !== "io server disconnect");
  assert.deepEqual(wrong, [], `reasons other than "io server disconnect" in ${ITERATIONS} runs: ${JSON.stringify(reasons)}`);
});
