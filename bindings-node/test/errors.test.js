"use strict";

// With onHandlerError (or catchHandlerErrors) a throwing or rejecting listener is reported and isolated: the socket stays connected, the
// other listeners and sockets carry on.

const { before, after } = require("node:test");
const assert = require("node:assert/strict");
const h = require("./helpers");
const { test } = h;

let io;
const reported = [];
before(() => {
  io = h.startServer({ onHandlerError: (err, where) => reported.push([err && err.message, where]) });
  io.on("connection", (socket) => {
    socket.on("throw", () => {
      throw new Error("sync failure");
    });
    socket.on("reject", async () => {
      await h.sleep(1);
      throw new Error("async failure");
    });
    socket.onAny((event) => {
      if (event === "any-throws") throw new Error("onAny failure");
    });
    socket.on("ok", (ack) => ack("still here"));
    socket.on("ack-callback-throws", (ack) => {
      socket.emit("question", () => {
        throw new Error("ack callback failure");
      });
      ack(true);
    });
  });
  io.of("/bad-connection").on("connection", () => {
    throw new Error("connection failure");
  });
  io.of("/bad-connection").on("connection", (socket) => socket.emit("second-listener-ran"));
});
after(() => h.cleanup());

async function waitForReport(message) {
  await h.within(
    (async () => {
      while (!reported.some(([m]) => m === message)) await h.sleep(5);
    })(),
    `a report of "${message}"`,
  );
  return reported.find(([m]) => m === message);
}

test("a throwing listener is reported; the socket keeps working", async () => {
  const client = await h.connect(io);
  client.emit("throw");
  const [, where] = await waitForReport("sync failure");
  assert.match(where, /"throw" listener of socket/);
  assert.equal(await client.timeout(2000).emitWithAck("ok"), "still here");
  assert.equal(client.connected, true);
});

test("a rejecting async listener is reported; the socket keeps working", async () => {
  const client = await h.connect(io);
  client.emit("reject");
  await waitForReport("async failure");
  assert.equal(await client.timeout(2000).emitWithAck("ok"), "still here");
});

test("onAny listeners and ack callbacks are isolated too", async () => {
  const client = await h.connect(io);
  client.emit("any-throws");
  await waitForReport("onAny failure");
  client.on("question", (ack) => ack(1));
  assert.equal(await client.timeout(2000).emitWithAck("ack-callback-throws"), true);
  await waitForReport("ack callback failure");
  assert.equal(await client.timeout(2000).emitWithAck("ok"), "still here");
});

test("a throwing connection listener does not stop the others nor the connection", async () => {
  const client = h.client(io, { nsp: "/bad-connection" });
  await h.once(client, "second-listener-ran");
  await waitForReport("connection failure");
  assert.equal(client.connected, true);
});

test("with catchHandlerErrors and without onHandlerError, failures are printed on stderr with their stack", async () => {
  const { spawnSync } = require("node:child_process");
  const script = `
    const { Server } = require("roomcast");
    const { io: connect } = require("socket.io-client");
    const io = new Server(0, { catchHandlerErrors: true });
    io.on("connection", (socket) => socket.on("x", () => { throw new Error("printed failure"); }));
    const client = connect("http://127.0.0.1:" + io.address().port, { transports: ["websocket"] });
    client.on("connect", () => client.emit("x"));
    setTimeout(() => { client.close(); io.close(); }, 300);
  `;
  const result = spawnSync(process.execPath, ["-e", script], { cwd: __dirname, encoding: "utf8", timeout: 10000 });
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stderr, /roomcast: the "x" listener of socket \S+ on \/ failed: Error: printed failure/);
});
