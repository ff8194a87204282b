"use strict";

// CONNECT comes first: a socket that broadcasts can reach has already been sent its CONNECT.
// Raw clients connect while another client floods namespace "/" with broadcasts; the first
// Socket.IO packet each one receives must be its CONNECT (socket.io-client would hide an
// event that came first by buffering it). The window is microseconds wide: repeat it.

const assert = require("node:assert/strict");
const h = require("../harness");
const { RawWebSocketClient } = require("../harness/raw");
const { test } = h;

const CONNECTS = 300;

let server;

h.before(async () => {
  server = await h.startServer();
});
h.afterEach(() => h.closeAllClients());
h.after(async () => {
  h.closeAllClients();
  if (server) await server.stop();
});

test(`no broadcast reaches a socket before its CONNECT (${CONNECTS} connects under a flood)`, { timeout: 60000 }, async () => {
  const flooder = await h.connect(server);
  let flooding = true;
  const flood = (async () => {
    while (flooding) await h.emitWithAck(flooder, "flood", { count: 50, event: "flood", size: 1 });
  })();
  const wrong = [];
  try {
    for (let i = 0; i < CONNECTS; i++) {
      const raw = await RawWebSocketClient.connect(server, { connect: false });
      try {
        raw.send("40");
        const first = await raw.next((m) => typeof m === "string" && m.startsWith("4"), 3000, "a Socket.IO packet");
        if (!first.startsWith("40")) wrong.push(first);
      } finally {
        raw.close();
      }
    }
  } finally {
    flooding = false;
    await flood;
  }
  assert.deepEqual(wrong, [], `packets received before CONNECT in ${CONNECTS} connects`);
});
