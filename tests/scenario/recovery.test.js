"use strict";

// Connection state recovery (RECOVERY=1) with socket.io-client 4: a client whose transport
// drops comes back with the same id and rooms, `recovered` set, and the broadcasts it missed
// in order; a client that disconnected on purpose, or came back too late, does not.

const { before, after } = require("node:test");
const assert = require("node:assert/strict");
const h = require("../harness");

let server;
let shortLived;
before(async () => {
  server = await h.startServer({ env: { RECOVERY: "1" } });
  shortLived = await h.startServer({ env: { RECOVERY: "1", RECOVERY_MS: "1" } });
});
after(async () => {
  h.closeAllClients();
  await Promise.all([server.stop(), shortLived.stop()]);
});

/** Drops the transport (as a network failure would) and waits until the server saw it. */
async function dropTransport(target, socket) {
  const obs = await h.observer(target);
  const seen = h.observed(obs, "disconnect", socket.id);
  const gone = h.once(socket, "disconnect");
  socket.io.engine.close();
  await gone;
  return (await seen).reason;
}

for (const mode of ["websocket", "polling"]) {
  h.test(`[${mode}] a dropped transport recovers id, rooms and the missed broadcasts in order`, async () => {
    const room = h.unique("csr");
    const socket = await h.connect(server, { mode, reconnection: false });
    const sender = await h.connect(server);
    await h.emitWithAck(socket, "join", room);
    // One broadcast before the drop gives the client its offset.
    const first = h.once(socket, "tick");
    await h.emitWithAck(sender, "emit-to", { rooms: room, event: "tick", args: [0] });
    assert.equal((await first)[0], 0);
    const id = socket.id;

    assert.equal(await dropTransport(server, socket), "transport close");
    for (let i = 1; i <= 3; i++) {
      await h.emitWithAck(sender, "emit-to", { rooms: room, event: "tick", args: [i] });
    }
    await h.emitWithAck(sender, "emit-to", { rooms: h.unique("elsewhere"), event: "tick", args: [99] });

    const missed = h.collect(socket, "tick", 3);
    const order = [];
    const onTick = (n) => order.push(n);
    socket.on("tick", onTick);
    socket.once("connect", () => order.push("connect"));
    socket.connect();
    await h.once(socket, "connect");
    // The client sees the offset as a last argument, as with socket.io.
    assert.deepEqual((await missed).map((args) => args[0]), [1, 2, 3]);
    // socket.io sends the missed packets before CONNECT: the client hands them over first.
    assert.deepEqual(order, [1, 2, 3, "connect"]);
    socket.off("tick", onTick);
    assert.equal(socket.id, id);
    assert.equal(socket.recovered, true);
    assert.equal(await h.emitWithAck(socket, "recovered"), true);
    assert.ok((await h.emitWithAck(socket, "rooms")).includes(room));
  });
}

h.test("a client that disconnects on purpose starts a new session", async () => {
  const socket = await h.connect(server, { reconnection: false });
  await h.emitWithAck(socket, "join", h.unique("gone"));
  const first = h.once(socket, "tick");
  const sender = await h.connect(server);
  await h.emitWithAck(sender, "emit-to", { rooms: socket.id, event: "tick", args: [0] });
  await first;
  socket.disconnect();
  socket.connect();
  await h.once(socket, "connect");
  assert.equal(socket.recovered, false);
  assert.equal(await h.emitWithAck(socket, "recovered"), false);
});

h.test("past maxDisconnectionDuration the session is not recovered", async () => {
  const socket = await h.connect(shortLived, { reconnection: false });
  const sender = await h.connect(shortLived);
  const first = h.once(socket, "tick");
  await h.emitWithAck(sender, "emit-to", { rooms: socket.id, event: "tick", args: [0] });
  await first;
  const id = socket.id;
  await dropTransport(shortLived, socket);
  // RECOVERY_MS=1: anything after the drop is too late; a round trip makes sure time passed.
  await h.emitWithAck(sender, "count");
  socket.connect();
  await h.once(socket, "connect");
  assert.notEqual(socket.id, id);
  assert.equal(socket.recovered, false);
});

// The server appends the offset to every stored packet's argument array; an argument that is
// itself an array ends the text in `]]`, which must still reach the client as sent.
h.test("a nested array as the last argument reaches every client intact, live and replayed", async () => {
  const room = h.unique("nested");
  const receiver = await h.connect(server, { reconnection: false });
  const other = await h.connect(server);
  const sender = await h.connect(server);
  await h.emitWithAck(receiver, "join", room);
  await h.emitWithAck(other, "join", room);
  const args = [1, ["x"], [[2, ["y]"]], []]];

  const live = [h.once(receiver, "nested"), h.once(other, "nested")];
  // No `rooms`: the relay is a plain `io.emit`.
  await h.emitWithAck(sender, "emit-to", { event: "nested", args });
  for (const got of await Promise.all(live)) {
    assert.deepEqual(got.slice(0, args.length), args);
    assert.equal(typeof got[args.length], "string", "the offset follows the arguments");
  }

  await dropTransport(server, receiver);
  await h.emitWithAck(sender, "emit-to", { rooms: room, event: "nested", args });
  const replayed = h.once(receiver, "nested");
  receiver.connect();
  await h.once(receiver, "connect");
  assert.equal(receiver.recovered, true);
  assert.deepEqual((await replayed).slice(0, args.length), args);
});

// socket.io shows the private id and the offset in handshake.auth (and so to fetchSockets and
// the other servers of a cluster); roomcast keeps them out of it.
h.test("the private id and offset stay out of handshake.auth", { skip: h.flavour() === "reference" }, async () => {
  const room = h.unique("pid");
  const socket = await h.connect(server, { mode: "websocket", reconnection: false, auth: { token: "t" } });
  const sender = await h.connect(server);
  await h.emitWithAck(socket, "join", room);
  const first = h.once(socket, "tick");
  await h.emitWithAck(sender, "emit-to", { rooms: room, event: "tick", args: [0] });
  await first;
  assert.equal(typeof socket._pid, "string");

  await dropTransport(server, socket);
  socket.connect();
  await h.once(socket, "connect");
  assert.equal(socket.recovered, true);
  const { auth } = await h.emitWithAck(socket, "handshake");
  assert.deepEqual(auth, { token: "t" });
});
