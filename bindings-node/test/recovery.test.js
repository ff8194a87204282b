"use strict";

// Connection state recovery: the missed packets reach the client before its CONNECT, as
// socket.io sends them, so the client hands them over before `connect` (and before anything
// the connection handler emits).

const assert = require("node:assert/strict");
const { after } = require("node:test");
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
