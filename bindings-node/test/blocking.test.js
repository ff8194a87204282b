"use strict";

// Listeners that take seconds. One that blocks the event loop holds up every other listener
// until it returns, as in socket.io, but the connections do not depend on JavaScript: the Rust
// core keeps the heartbeats going and answers handshakes, so no client is disconnected, and the
// events that arrived meanwhile are handled afterwards, in order; a namespace CONNECT waits for
// its connection listener. An async listener awaiting a timer holds up nobody.

const { after } = require("node:test");
const assert = require("node:assert/strict");
const { spawn } = require("node:child_process");
const path = require("node:path");
const h = require("./helpers");
const { test } = h;

// Heartbeats much shorter than the block: a client that missed one ping exchange would be
// disconnected (pingTimeout) long before the listener returns.
const SHORT_HEARTBEAT = { pingInterval: 300, pingTimeout: 200 };
const BLOCK_MS = 2000;
const EVENTS = 5;

after(() => h.cleanup());

const CLIENTS = path.join(__dirname, "..", "..", "tests", "harness", "blocking-client.js");

/** Runs the shared blocking-client.js against `url`; resolves with the JSON line it printed. */
function runClients(url, mode) {
  const child = spawn(process.execPath, [CLIENTS, url, mode, String(BLOCK_MS)], {
    cwd: __dirname,
    // socket.io-client from tests/node_modules, or this package's when that is not installed.
    env: { ...process.env, NODE_PATH: path.join(__dirname, "..", "node_modules") },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk) => (stdout += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk) => (stderr += chunk));
  const exited = new Promise((resolve) => child.once("exit", resolve));
  return h
    .within(exited, "the client process", BLOCK_MS + 10000)
    .finally(() => child.kill("SIGKILL"))
    .then((code) => {
      const line = stdout.trim().split("\n").pop();
      assert.ok(line, `the client process printed nothing: ${stderr}`);
      const result = JSON.parse(line);
      assert.equal(code, 0, JSON.stringify(result));
      return result;
    });
}

for (const mode of ["websocket", "polling"]) {
  test(`[${mode}] a listener blocking the event loop: connections stay up, events are handled afterwards in order`, async () => {
    const reported = [];
    const io = h.startServer({ ...SHORT_HEARTBEAT, onHandlerError: (err, where) => reported.push(where) });
    const connected = [];
    const handled = [];
    const reasons = new Map();
    const blocked = [];
    io.on("connection", (socket) => {
      connected.push(socket.id);
      socket.emit("welcome");
      socket.on("block", (ms, ack) => {
        socket.emit("blocking"); // sent by the core right away
        const start = Date.now();
        while (Date.now() < start + ms);
        blocked.push(Date.now() - start);
        ack("done");
      });
      socket.on("seq", (name, i, ack) => {
        handled.push([name, i]);
        ack(i);
      });
      socket.on("disconnect", (reason) => reasons.set(socket.id, reason));
    });

    const result = await runClients(h.urlOf(io), mode);
    const report = JSON.stringify(result);
    assert.equal(result.block, "done");
    assert.ok(blocked[0] >= BLOCK_MS, `blocked ${blocked[0]} ms`);
    // Heartbeats went on while JavaScript was blocked: about one ping every 300 ms each.
    assert.ok(result.pingsDuringBlock.a >= 3, report);
    assert.ok(result.pingsDuringBlock.b >= 3, report);
    // No client was disconnected; c's handshake was answered during the block; its CONNECT
    // came with its connection listener, after the block (the client's clock starts once the
    // blocking listener has begun, so "after" is at least the block less that message's trip).
    assert.deepEqual(result.disconnects, { a: [], b: [], c: [] }, report);
    assert.deepEqual(result.connected, { a: true, b: true, c: true });
    assert.equal(result.cOpenedDuringBlock, true, report);
    assert.ok(result.cConnectedAfterMs >= BLOCK_MS / 2, report);
    assert.equal(result.cWelcomed, true);
    assert.equal(connected.length, 4);
    // Every event sent during the block was handled afterwards, in order per socket.
    const upTo = [...Array(EVENTS).keys()];
    assert.deepEqual(result.answers, { a: upTo, b: upTo });
    assert.deepEqual(handled.filter(([name]) => name === "a").map(([, i]) => i), upTo);
    assert.deepEqual(handled.filter(([name]) => name === "b").map(([, i]) => i), upTo);
    // d left during the block: its disconnect listener ran afterwards, with the client's reason.
    assert.ok(connected.includes(result.left));
    await h.within(
      (async () => {
        while (!reasons.has(result.left)) await h.sleep(5);
      })(),
      "the disconnect of the socket that left during the block",
    );
    assert.equal(reasons.get(result.left), "client namespace disconnect");
    assert.ok(![...reasons.values()].includes("ping timeout"));
    assert.deepEqual(reported, []);
  });
}

test("an async listener awaiting a timer holds up no other socket, nor its own next events", async () => {
  const io = h.startServer(SHORT_HEARTBEAT);
  let started;
  const slowStarted = new Promise((resolve) => (started = resolve));
  io.on("connection", (socket) => {
    socket.on("slow", async (ack) => {
      started();
      await h.sleep(BLOCK_MS);
      ack("slow done");
    });
    socket.on("echo", (value, ack) => ack(value));
  });
  const a = await h.connect(io);
  const b = await h.connect(io);
  let slowDone = false;
  const slow = a
    .timeout(BLOCK_MS + 5000)
    .emitWithAck("slow")
    .then((answer) => {
      slowDone = true;
      return answer;
    });
  await h.within(slowStarted, "the slow listener to start");
  assert.equal(await b.timeout(1000).emitWithAck("echo", "from b"), "from b");
  assert.equal(await a.timeout(1000).emitWithAck("echo", "from a"), "from a");
  assert.equal(slowDone, false);
  assert.equal(await h.within(slow, "the slow answer", BLOCK_MS + 5000), "slow done");
  assert.equal(a.connected && b.connected, true);
});
