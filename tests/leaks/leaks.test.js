"use strict";

// Every way a connection can end, LEAK_CYCLES times each (10,000 for the full run, fewer in the
// default test run): afterwards the server is back to its baseline of sessions, sockets, rooms
// and namespaces, and its RSS is back near where it started.

const { before, after } = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const WebSocket = require("ws");
const h = require("../harness");

const CYCLES = Number(process.env.LEAK_CYCLES || 300);
const BATCH = 50;
const RSS_SLACK_MB = Number(process.env.LEAK_RSS_SLACK_MB || 40);

let server;
let probe;
let baseline;
let baselineRss;

function rssMb(target) {
  const status = fs.readFileSync(`/proc/${target.process.pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+)/.exec(status)[1]) / 1024;
}

async function stats() {
  return h.emitWithAck(probe, "stats");
}

/** Runs `fn(i)` for i below CYCLES, BATCH at a time. */
async function cycles(fn) {
  for (let start = 0; start < CYCLES; start += BATCH) {
    const jobs = [];
    for (let i = start; i < Math.min(start + BATCH, CYCLES); i++) jobs.push(fn(i));
    await Promise.all(jobs);
  }
}

async function backToBaseline(what) {
  const deadline = Date.now() + 15000;
  let now;
  while (Date.now() < deadline) {
    now = await stats();
    if (JSON.stringify(now) === JSON.stringify(baseline)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.deepEqual(now, baseline, `after ${what}: live objects did not return to the baseline`);
}

before(async () => {
  server = await h.startServer({
    env: { PING_INTERVAL: "200", PING_TIMEOUT: "200", CONNECT_TIMEOUT: "300", CLEANUP_EMPTY_CHILDREN: "1" },
  });
  probe = await h.connect(server);
  baseline = await stats();
  baselineRss = rssMb(server);
});

after(async () => {
  h.closeAllClients();
  await server.stop();
});

function wsUrl(query = "") {
  return `ws://127.0.0.1:${server.port}/socket.io/?EIO=4&transport=websocket${query}`;
}

const opts = { timeout: 120000 };

h.test(`${CYCLES} websocket connect/disconnect cycles`, opts, async () => {
  await cycles(async () => {
    const c = await h.RawWebSocketClient.connect(server);
    c.ws.close();
    await c.closeEvent;
  });
  await backToBaseline("websocket cycles");
});

h.test(`${CYCLES} polling connect/close cycles`, opts, async () => {
  await cycles(async () => {
    const c = await h.RawPollingClient.open(server);
    await c.connect("/");
    await c.close();
  });
  await backToBaseline("polling cycles");
});

h.test(`${CYCLES} upgrades aborted after the probe`, opts, async () => {
  await cycles(async () => {
    const c = await h.RawPollingClient.open(server);
    await c.connect("/");
    const ws = new WebSocket(wsUrl(`&sid=${c.sid}`));
    await new Promise((resolve, reject) => {
      ws.once("open", resolve);
      ws.once("error", reject);
    });
    const pong = new Promise((resolve) => ws.once("message", resolve));
    ws.send("2probe");
    assert.equal(String(await h.within(pong, 3000, "3probe")), "3probe");
    ws.terminate();
    await c.close();
  });
  await backToBaseline("aborted upgrades");
});

h.test(`${CYCLES} handshakes that never join a namespace (connect timeout)`, opts, async () => {
  await cycles(async () => {
    await h.RawPollingClient.open(server);
  });
  await backToBaseline("handshakes without CONNECT");
});

h.test(`${CYCLES} clients that stop answering pings (ping timeout)`, opts, async () => {
  await cycles(async () => {
    const c = await h.RawWebSocketClient.connect(server, { answerPings: false });
    await h.within(c.closeEvent, 3000, "ping timeout close");
  });
  await backToBaseline("ping timeouts");
});

h.test(`${CYCLES} server-side disconnects with close`, opts, async () => {
  await cycles(async () => {
    const c = await h.RawWebSocketClient.connect(server);
    c.send('42["disconnect-me",true]');
    await h.within(c.closeEvent, 3000, "server close");
  });
  await backToBaseline("server-side disconnects");
});

h.test(`${CYCLES} dynamic child namespaces joined and left`, opts, async () => {
  await cycles(async (i) => {
    const c = await h.RawWebSocketClient.connect(server, { nsp: `/dyn-${900000 + i}` });
    c.ws.close();
    await c.closeEvent;
  });
  await backToBaseline("dynamic namespaces");
});

// Node's heap does not hand memory back to the OS promptly: the bound is roomcast's promise.
h.test("RSS is back near its baseline", { skip: h.flavour() === "reference" }, async (t) => {
  const now = rssMb(server);
  t.diagnostic(`RSS baseline ${baselineRss.toFixed(1)} MB, after ${7 * CYCLES} cycles ${now.toFixed(1)} MB`);
  assert.ok(now < baselineRss + RSS_SLACK_MB, `RSS ${now.toFixed(1)} MB, baseline ${baselineRss.toFixed(1)} MB`);
});
