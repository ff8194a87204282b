"use strict";

// Connection state recovery: the missed packets reach the client before its CONNECT, as
// socket.io sends them, so the client hands them over before `connect` (and before anything
// the connection handler emits).

const assert = require("node:assert/strict");
const { after } = require("node:test");
const { Worker } = require("node:worker_threads");
const h = require("./helpers");

after(() => h.cleanup());

for (const mode of ["websocket", "polling"]) {
  h.test(`[${mode}] missed packets come before connect (recovered)`, async () => {
    const io = h.startServer({ connectionStateRecovery: {} });
    io.on("connection", (socket) => {
      socket.join("room");
      socket.emit("hello");
    });
    const client = await h.connect(io, { mode });
    const sender = await h.connect(io, { mode: "websocket" });
    // One packet before the drop gives the client its offset.
    const first = h.once(client, "tick");
    io.to("room").emit("tick", 0);
    await first;
    const gone = h.once(client, "disconnect");
    client.io.engine.close();
    await gone;
    io.to("room").emit("tick", 1);
    io.to("room").emit("tick", 2);
    const order = [];
    client.on("tick", (n) => order.push(n));
    client.on("hello", () => order.push("hello"));
    const connected = new Promise((resolve) => client.once("connect", () => resolve(order.push(`connect:${client.recovered}`))));
    const hello = h.once(client, "hello");
    client.connect();
    await h.within(connected, "reconnection");
    await hello;
    assert.deepEqual(order, [1, 2, "connect:true", "hello"]);
    sender.close();
  });
}

// The session is kept only after the `disconnecting` handlers have run (they may still read
// the socket's rooms and data). A client that reconnects while they run must not find its
// session missing: its CONNECT waits for them, as socket.io's single thread runs them first.
// The client runs in a worker thread, so it reconnects while the handler holds this thread.
const CLIENT_IN_A_WORKER = `
  const { parentPort, workerData } = require("node:worker_threads");
  const { io } = require(workerData.client);
  const client = io(workerData.url, { transports: workerData.transports, reconnection: false });
  client.once("tick", () => parentPort.postMessage("ticked"));
  parentPort.once("message", () => {
    client.once("disconnect", () => {
      client.once("connect", () => {
        parentPort.postMessage({ recovered: client.recovered });
        client.close();
      });
      client.connect();
    });
    client.io.engine.close();
  });
`;

for (const mode of ["websocket", "polling"]) {
  h.test(`[${mode}] a reconnect during slow disconnecting handlers is recovered`, async () => {
    const io = h.startServer({ connectionStateRecovery: {} });
    const joined = new Promise((resolve) => {
      io.on("connection", (socket) => {
        socket.join("room");
        socket.on("disconnecting", () => {
          // Holds this thread until the worker's reconnect has reached the server.
          const until = Date.now() + 500;
          while (Date.now() < until);
        });
        resolve();
      });
    });
    const worker = new Worker(CLIENT_IN_A_WORKER, {
      eval: true,
      workerData: {
        client: require.resolve("socket.io-client"),
        url: h.urlOf(io),
        transports: mode === "websocket" ? ["websocket"] : ["polling"],
      },
    });
    try {
      const messages = [];
      let arrived;
      worker.on("message", (m) => {
        messages.push(m);
        if (arrived) arrived();
      });
      const next = () => h.within(new Promise((resolve) => {
        if (messages.length) return resolve(messages.shift());
        arrived = () => {
          arrived = null;
          resolve(messages.shift());
        };
      }), "the worker's client");
      await h.within(joined, "connection");
      io.to("room").emit("tick", 0);
      assert.equal(await next(), "ticked");
      worker.postMessage("drop");
      assert.deepEqual(await next(), { recovered: true });
    } finally {
      await worker.terminate();
    }
  });
}
