"use strict";

// A client that stops reading while thousands of broadcasts go to its room: roomcast bounds
// its queue (MAX_QUEUED_FRAMES), disconnects it with the reason "slow consumer", keeps its own
// memory bounded, and the other clients of the room get every broadcast. The same with a few
// large messages (MAX_QUEUED_BYTES), and with a peer that sends pings it never reads the
// answers to (WebSocket pings, Engine.IO v3 pings whose payload is echoed).

const { before, after } = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const h = require("../harness");

const COUNT = 5000;
const SIZE = 4096;
const ROUND = 100;
const MAX_BYTES = 8 << 20;
let server;
let bytesServer;

function rssMb(target, field = "VmRSS") {
  const status = fs.readFileSync(`/proc/${target.process.pid}/status`, "utf8");
  return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)[1]) / 1024;
}

// The peak RSS since the process started (the kernel's high-water mark).
const peakMb = (target) => rssMb(target, "VmHWM");

const skip = h.flavour() === "reference";
// Under Node's http.Server (the Node scenario server) the WebSocket framing is Node's `ws`,
// which reads and closes the socket itself: the ping tests are about roomcast's own framing.
const skipFraming = skip || h.flavour() === "node";
// The Node server also holds a V8 heap that grows before it collects.
const RSS_SLACK_MB = Number(process.env.LEAK_RSS_SLACK_MB || 40);

before(async () => {
  server = await h.startServer({ env: { MAX_QUEUED_FRAMES: "500" } });
  if (skip) return;
  bytesServer = await h.startServer({
    env: { MAX_QUEUED_BYTES: String(MAX_BYTES), ALLOW_EIO3: "1", PING_INTERVAL: "1500", PING_TIMEOUT: "1500", RUST_LOG: "warn" },
  });
});
after(async () => {
  h.closeAllClients();
  await server.stop();
  if (bytesServer) await bytesServer.stop();
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

h.test("large messages to a client that stops reading: disconnected once its queue passes the byte bound", { skip, timeout: 60000 }, async (t) => {
  const BIG = 256 * 1024;
  const MESSAGES = 200; // 50 MB for the stalled client, under the frame bound
  const room = h.unique("big");
  const obs = await h.observer(bytesServer);
  const stalled = await h.RawWebSocketClient.connect(bytesServer);
  stalled.send(`421["join","${room}"]`);
  await stalled.next("431");
  const healthy = await h.connect(bytesServer, { mode: "websocket" });
  await h.emitWithAck(healthy, "join", room);
  const baseline = peakMb(bytesServer);

  stalled.ws._socket.pause();
  const kicked = h.observed(obs, "disconnect", stalled.sid, 30000);
  const all = h.collector(healthy, "flood");
  const sender = await h.connect(bytesServer, { mode: "websocket" });
  // Rounds of 1 MiB: a reading client stays far under the bound. The next round waits for
  // the healthy client to have read the one before, so that a test process short of CPU (a
  // busy machine) still reads as fast as it is sent to; the stalled client reads nothing.
  for (let round = 0; round < MESSAGES / 4; round++) {
    await h.emitWithAck(sender, "flood", { rooms: room, count: 4, size: BIG });
    await all.wait(round * 4, 30000);
  }
  assert.equal((await kicked).reason, "slow consumer");
  assert.equal((await all.wait(MESSAGES, 30000)).length, MESSAGES);
  all.stop();
  const peak = peakMb(bytesServer);
  t.diagnostic(`peak RSS ${baseline.toFixed(1)} MB before, ${peak.toFixed(1)} MB after ${MESSAGES} x ${BIG / 1024} KiB`);
  assert.ok(peak < baseline + RSS_SLACK_MB, `peak RSS grew from ${baseline.toFixed(1)} to ${peak.toFixed(1)} MB`);
  if (h.flavour() !== "node") assert.match(bytesServer.stderr(), /slow consumer/);
});

h.test("an Engine.IO v3 client that pings with large payloads and never reads the echoes: not read further, then closed", { skip: skipFraming, timeout: 60000 }, async (t) => {
  const PAYLOAD = "p".repeat(100 * 1024);
  const PINGS = 400; // 40 MB of echoes
  const WebSocket = require("ws");
  const ws = new WebSocket(`ws://127.0.0.1:${bytesServer.port}/socket.io/?EIO=3&transport=websocket`);
  ws.on("error", () => {});
  const closed = new Promise((resolve) => ws.on("close", resolve));
  await h.within(new Promise((resolve) => ws.once("message", resolve)), 5000, "v3 open packet");
  const baseline = peakMb(bytesServer);
  // Never reads again: the echoes pile up on the server until its byte bound ends the session
  // and the connection (the client's pending writes then fail, which closes it here).
  ws._socket.pause();
  for (let i = 0; i < PINGS; i++) ws.send(`2${PAYLOAD}`);
  await h.within(closed, 20000, "the server closes the connection");
  const peak = peakMb(bytesServer);
  t.diagnostic(`peak RSS ${baseline.toFixed(1)} MB before, ${peak.toFixed(1)} MB after ${PINGS} x 100 KiB pings`);
  assert.ok(peak < baseline + 40, `peak RSS grew from ${baseline.toFixed(1)} to ${peak.toFixed(1)} MB`);
});

h.test("a peer that sends WebSocket pings and never reads the pongs is not read further", { skip: skipFraming, timeout: 60000 }, async (t) => {
  const PINGS = 300000; // 125-byte pings: 38 MB of pongs if they were all read
  const obs = await h.observer(bytesServer);
  const c = await h.RawWebSocketClient.connect(bytesServer, { answerPings: false });
  const baseline = peakMb(bytesServer);
  const gone = h.observed(obs, "disconnect", c.sid, 20000);
  c.ws._socket.pause();
  const data = Buffer.alloc(125, 1);
  for (let i = 0; i < PINGS; i++) c.ws.ping(data);
  // Unread, the server hears neither pings nor pongs from it any more: a ping timeout.
  assert.equal((await gone).reason, "ping timeout");
  const peak = peakMb(bytesServer);
  c.ws.terminate();
  const other = await h.connect(bytesServer, { mode: "websocket" });
  assert.equal(await h.emitWithAck(other, "echo", "ok"), "ok");
  t.diagnostic(`peak RSS ${baseline.toFixed(1)} MB before, ${peak.toFixed(1)} MB after ${PINGS} pings`);
  assert.ok(peak < baseline + 20, `peak RSS grew from ${baseline.toFixed(1)} to ${peak.toFixed(1)} MB`);
});
