"use strict";

// Catch-all listeners and per-socket middleware: onAny, onAnyOutgoing, socket.use rejecting an
// event (reported through the socket's "error" handler).

const assert = require("node:assert/strict");
const h = require("../harness");
const { test, MODES } = h;

let server;
h.before(async () => {
  server = await h.startServer();
});
h.afterEach(() => h.closeAllClients());
h.after(async () => {
  h.closeAllClients();
  if (server) await server.stop();
});

for (const mode of MODES) {
  test(`[${mode}] onAny sees incoming events with their arguments`, async () => {
    const socket = await h.connect(server, { mode });
    const seen = h.once(socket, "any-seen");
    socket.emit("any-probe", 1, { two: 2 }, "three");
    assert.deepEqual(await seen, ["any-probe", 1, { two: 2 }, "three"]);

    // an event that also carries an ack: the ack is not an argument
    const seen2 = h.once(socket, "any-seen");
    socket.emit("any-probe", "with-ack", () => {});
    assert.deepEqual(await seen2, ["any-probe", "with-ack"]);
  });

  test(`[${mode}] onAnyOutgoing counts emitted events, not acks`, async () => {
    const socket = await h.connect(server, { mode });
    assert.equal(await h.emitWithAck(socket, "outgoing-count"), 0);

    const echoes = h.collector(socket, "echo");
    for (let i = 0; i < 3; i++) socket.emit("echo", i);
    assert.deepEqual(await echoes.wait(3), [[0], [1], [2]]);
    echoes.stop();
    assert.equal(await h.emitWithAck(socket, "outgoing-count"), 3);

    // an ack is not an outgoing event
    assert.deepEqual(await h.emitWithAckArgs(socket, "echo", "acked"), ["acked"]);
    assert.equal(await h.emitWithAck(socket, "outgoing-count"), 3);

    // a broadcast that reaches the socket is an outgoing event of that socket
    const broadcast = h.once(socket, "echo");
    await h.emitWithAck(socket, "emit-to", { rooms: socket.id, event: "echo", args: ["b"] });
    await broadcast;
    assert.equal(await h.emitWithAck(socket, "outgoing-count"), 4);
  });

  test(`[${mode}] socket.use rejects an event and the socket's error handler reports it`, async () => {
    const socket = await h.connect(server, { mode });
    const error = h.once(socket, "use-error");
    socket.emit("forbidden", "payload");
    assert.deepEqual(await error, ["forbidden event"]);
    // the socket stays connected and other events pass
    assert.equal(socket.connected, true);
    assert.deepEqual(await h.emitWithAckArgs(socket, "echo", "ok"), ["ok"]);

    // a rejected event that asked for an ack never gets it
    let acked = false;
    const error2 = h.once(socket, "use-error");
    socket.emit("forbidden", () => {
      acked = true;
    });
    assert.deepEqual(await error2, ["forbidden event"]);
    assert.deepEqual(await h.emitWithAckArgs(socket, "echo", "after"), ["after"]);
    assert.equal(acked, false);
  });

  test(`[${mode}] an event nobody listens to is ignored`, async () => {
    const socket = await h.connect(server, { mode });
    let acked = false;
    socket.emit("no-such-event", 1, 2);
    socket.emit("no-such-event-with-ack", () => {
      acked = true;
    });
    assert.deepEqual(await h.emitWithAckArgs(socket, "echo", "fine"), ["fine"]);
    assert.equal(socket.connected, true);
    assert.equal(acked, false);
  });
}
