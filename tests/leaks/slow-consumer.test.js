"use strict";

// A client that stops reading while thousands of broadcasts go to its room: roomcast bounds
// its queue (MAX_QUEUED_FRAMES), disconnects it with the reason "slow consumer", keeps its own
// memory bounded, and the other clients of the room get every broadcast.

const { before, after } = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const h = require("../harness");

const COUNT = 5000;
const SIZE = 4096;
const ROUND = 100;
let server;

function rssMb(target) {
  const status = fs.readFileSync(`/proc/${target.process.pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+)/.exec(status)[1]) / 1024;
}

before(async () => {
  server = await h.startServer({ env: { MAX_QUEUED_FRAMES: "500" } });
});
after(async () => {
  h.closeAllClients();
  await server.stop();
});

// The reference server queues without bound: this is roomcast's guarantee.
h.test("a client that stops reading is disconnected as a slow consumer; others get everything", { skip: h.flavour() === "reference", timeout: 60000 }, async (t) => {
  const room = h.unique("flood");
  const obs = await h.observer(server);
  const stalled = await h.RawWebSocketClient.connect(server);
  stalled.send(`421["join","${room}"]`);
  await stalled.next("431");
  const healthy = await h.connect(server);
  await h.emitWithAck(healthy, "join", room);
  const baseline = rssMb(server);

  // Stop reading: the kernel buffers fill, then the server's queue.
  stalled.ws._socket.pause();
  const kicked = h.observed(obs, "disconnect", stalled.sid, 30000);
  const all = h.collect(healthy, "flood", COUNT, 30000);
  const sender = await h.connect(server);
  // Paced in rounds, as real traffic is: a reading client drains each round, the stalled
  // one cannot. The event index restarts each round, so the rounds are told apart by order.
  for (let round = 0; round < COUNT / ROUND; round++) {
    await h.emitWithAck(sender, "flood", { rooms: room, count: ROUND, size: SIZE });
  }

  assert.equal((await kicked).reason, "slow consumer");
  const received = await all;
  assert.deepEqual(received.map((args) => args[0]), [...Array(COUNT).keys()].map((i) => i % ROUND));
  const peak = rssMb(server);
  t.diagnostic(`RSS ${baseline.toFixed(1)} MB before, ${peak.toFixed(1)} MB after ${COUNT} x ${SIZE} B broadcasts`);
  // 500 queued frames of ~4 KB is ~2 MB; allow the kernel and allocator their share.
  assert.ok(peak < baseline + 64, `RSS grew from ${baseline.toFixed(1)} to ${peak.toFixed(1)} MB`);
});
