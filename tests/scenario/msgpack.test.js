"use strict";

// A server started with PARSER=msgpack talks to socket.io-client 4 configured with
// socket.io-msgpack-parser: events, acks both ways, binary, rooms, namespaces, middlewares.

const { before, after } = require("node:test");
const assert = require("node:assert/strict");
const h = require("../harness");
const msgpackParser = require("socket.io-msgpack-parser");

let server;
before(async () => {
  server = await h.startServer({ env: { PARSER: "msgpack" } });
});
after(async () => {
  h.closeAllClients();
  await server.stop();
});

for (const mode of ["websocket", "polling", "upgrade"]) {
  const connect = (opts = {}) => h.connect(server, { mode, parser: msgpackParser, ...opts });

  h.test(`[msgpack ${mode}] events and acks round-trip`, async () => {
    const socket = await connect();
    assert.deepEqual(await h.emitWithAck(socket, "echo", { a: [1, 2.5, "x"], b: null }), { a: [1, 2.5, "x"], b: null });
    const back = h.once(socket, "echo");
    socket.emit("echo", "no-ack", 7);
    assert.deepEqual(await back, ["no-ack", 7]);
  });

  h.test(`[msgpack ${mode}] binary travels as msgpack bin both ways`, async () => {
    const socket = await connect();
    const [ack] = await h.emitWithAckArgs(socket, "binary", { file: Buffer.from([1, 2, 3]), list: [Buffer.from("hi")] });
    assert.deepEqual([...ack.file], [1, 2, 3]);
    assert.equal(Buffer.from(ack.list[0]).toString(), "hi");
  });

  h.test(`[msgpack ${mode}] rooms, broadcasts and server-to-client acks`, async () => {
    const room = h.unique("mp");
    const [a, b] = [await connect(), await connect()];
    await h.emitWithAck(a, "join", room);
    const got = h.once(a, "news");
    await h.emitWithAck(b, "emit-to", { rooms: room, event: "news", args: [{ n: 1 }] });
    assert.deepEqual(await got, [{ n: 1 }]);
    a.on("q", (x, cb) => cb(x + 1));
    assert.deepEqual(await h.emitWithAck(b, "ask-all", { rooms: room, event: "q", args: [1], timeout: 2000 }), { err: null, res: [2] });
  });

  h.test(`[msgpack ${mode}] namespaces and middleware errors`, async () => {
    const nsp = h.createClient(server, { mode, parser: msgpackParser, nsp: "/my-namespace" });
    assert.deepEqual(await h.once(nsp, "hi"), ["Hello everyone!"]);
    const refused = h.createClient(server, { mode, parser: msgpackParser, nsp: "/auth", auth: { token: "no" } });
    const [err] = await h.once(refused, "connect_error");
    assert.equal(err.message, "unauthorized");
    assert.deepEqual(err.data, { reason: "bad token" });
  });
}
