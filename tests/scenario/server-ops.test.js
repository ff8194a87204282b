"use strict";

// Server-side operations: io.emit / namespace emit / emit-to with the volatile, local and
// compress flags; fetchSockets, socketsJoin, socketsLeave, disconnectSockets; socket.data.

const assert = require("node:assert/strict");
const h = require("../harness");
const { test, MODES, sorted } = h;

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
  test(`[${mode}] io.emit reaches every socket of "/" and no other namespace`, async () => {
    const [a, b] = await h.connectMany(server, 2, { mode });
    const other = await h.connect(server, { mode, nsp: "/my-namespace" });
    const event = h.unique("everyone");
    const w = h.watch([a, b, other], event);
    assert.equal(await h.emitWithAck(a, "emit-to", { event, args: [1, "two"] }), true);
    assert.deepEqual(await w.settle(a), [[[1, "two"]], [[1, "two"]], []]);
  });

  test(`[${mode}] emit-to another namespace reaches only that namespace`, async () => {
    const root = await h.connect(server, { mode });
    const [x, y] = await h.connectMany(server, 2, { mode, nsp: "/my-namespace" });
    const w = h.watch([root, x, y], "ns-news");
    assert.equal(await h.emitWithAck(root, "emit-to", { nsp: "/my-namespace", event: "ns-news", args: ["n"] }), true);
    assert.deepEqual(await w.settle(root), [[], [["n"]], [["n"]]]);

    // a room of that namespace
    const w2 = h.watch([x, y], "ns-news");
    await h.emitWithAck(root, "emit-to", { nsp: "/my-namespace", rooms: y.id, event: "ns-news", args: ["y"] });
    assert.deepEqual(await w2.settle(root), [[], [["y"]]]);
  });

  test(`[${mode}] emit-to a namespace that does not exist answers false`, async () => {
    const root = await h.connect(server, { mode });
    assert.equal(await h.emitWithAck(root, "emit-to", { nsp: h.unique("/absent"), event: "x" }), false);
    // and it did not create it
    const probe = h.createClient(server, { mode, nsp: "/absent-for-sure" });
    await h.emitWithAck(root, "emit-to", { nsp: "/absent-for-sure", event: "x" });
    const [err] = await h.once(probe, "connect_error", 3000, { rejectOn: ["connect"] });
    assert.equal(err.message, "Invalid namespace");
  });

  test(`[${mode}] volatile, local and compress flags still deliver to idle clients`, async () => {
    const [sender, receiver] = await h.connectMany(server, 2, { mode });
    const room = h.unique("flags");
    await h.emitWithAck(receiver, "join", room);
    // a round trip, so that the receiver's transport is idle and writable again
    await h.emitWithAck(receiver, "rooms");

    const cases = [
      { volatile: true },
      { local: true },
      { compress: false },
      { compress: true },
      { volatile: true, local: true, compress: false },
    ];
    for (const flags of cases) {
      const got = h.once(receiver, "flagged");
      await h.emitWithAck(sender, "emit-to", { rooms: room, event: "flagged", args: [flags], ...flags });
      assert.deepEqual(await got, [flags]);
      await h.emitWithAck(receiver, "rooms");
    }
  });

  test(`[${mode}] fetch lists the sockets of rooms with their rooms and data`, async () => {
    const [a, b, c] = await h.connectMany(server, 3, { mode });
    const room = h.unique("fetch");
    const extra = h.unique("extra");
    await h.emitWithAck(a, "join", [room, extra]);
    await h.emitWithAck(b, "join", room);
    assert.equal(await h.emitWithAck(a, "set-data", { name: "ann", n: [1, 2] }), true);

    const listed = await h.emitWithAck(c, "fetch", { rooms: room });
    const expected = [
      { id: a.id, rooms: sorted([a.id, room, extra]), data: { value: { name: "ann", n: [1, 2] } } },
      { id: b.id, rooms: sorted([b.id, room]), data: {} },
    ].sort((p, q) => (p.id < q.id ? -1 : 1));
    assert.deepEqual(listed, expected);

    // several rooms: the union, each socket once
    const union = await h.emitWithAck(c, "fetch", { rooms: [room, c.id, extra] });
    assert.deepEqual(
      union.map((s) => s.id),
      sorted([a.id, b.id, c.id]),
    );

    // no rooms: every socket of "/"
    const all = await h.emitWithAck(c, "fetch", {});
    for (const s of [a, b, c]) assert.ok(all.some((entry) => entry.id === s.id));

    // an empty room
    assert.deepEqual(await h.emitWithAck(c, "fetch", { rooms: h.unique("empty") }), []);
  });

  test(`[${mode}] set-data replaces the value seen by fetch`, async () => {
    const socket = await h.connect(server, { mode });
    await h.emitWithAck(socket, "set-data", 1);
    await h.emitWithAck(socket, "set-data", "two");
    const [entry] = await h.emitWithAck(socket, "fetch", { rooms: socket.id });
    assert.deepEqual(entry, { id: socket.id, rooms: [socket.id], data: { value: "two" } });
  });

  test(`[${mode}] sockets-join and sockets-leave move the sockets of a room`, async () => {
    const [a, b, c] = await h.connectMany(server, 3, { mode });
    const room = h.unique("src");
    const target = h.unique("dst");
    const second = h.unique("dst2");
    await h.emitWithAck(a, "join", room);
    await h.emitWithAck(b, "join", room);

    assert.equal(await h.emitWithAck(c, "sockets-join", { rooms: room, join: target }), true);
    assert.deepEqual(await h.emitWithAck(a, "rooms"), sorted([a.id, room, target]));
    assert.deepEqual(await h.emitWithAck(b, "rooms"), sorted([b.id, room, target]));
    assert.deepEqual(await h.emitWithAck(c, "rooms"), [c.id]);

    // several rooms at once, targeting one socket by its id
    await h.emitWithAck(c, "sockets-join", { rooms: a.id, join: [second, "observers-not"] });
    assert.deepEqual(await h.emitWithAck(a, "rooms"), sorted([a.id, room, target, second, "observers-not"]));

    // delivery follows
    const w = h.watch([a, b, c], "moved");
    await h.emitWithAck(c, "emit-to", { rooms: target, event: "moved" });
    assert.deepEqual(await w.settle(c), [[[]], [[]], []]);

    assert.equal(await h.emitWithAck(c, "sockets-leave", { rooms: room, leave: target }), true);
    assert.deepEqual(await h.emitWithAck(a, "rooms"), sorted([a.id, room, second, "observers-not"]));
    assert.deepEqual(await h.emitWithAck(b, "rooms"), sorted([b.id, room]));
    await h.emitWithAck(c, "sockets-leave", { rooms: a.id, leave: [second, "observers-not"] });
    assert.deepEqual(await h.emitWithAck(a, "rooms"), sorted([a.id, room]));
  });

  test(`[${mode}] disconnect-sockets without close: "io server disconnect", others stay`, async () => {
    const obs = await h.observer(server);
    const m = h.managerFor(server, { mode });
    const a = await m.connect("/");
    const aOther = await m.connect("/my-namespace");
    const [b, keep] = await h.connectMany(server, 2, { mode });
    const room = h.unique("kick");
    await h.emitWithAck(a, "join", room);
    await h.emitWithAck(b, "join", room);

    const waits = [a, b].map((s) => ({
      client: h.once(s, "disconnect"),
      server: h.observed(obs, "disconnect", s.id),
    }));
    const w = h.watch([keep, aOther], "disconnect");
    assert.equal(await h.emitWithAck(keep, "disconnect-sockets", { rooms: room, close: false }), true);
    for (const wt of waits) {
      assert.equal((await wt.client)[0], "io server disconnect");
      assert.equal((await wt.server).reason, "server namespace disconnect");
    }
    assert.deepEqual(await w.settle(keep), [[], []]);
    // without close the engine.io connection stays open: a's other namespace still works
    assert.equal(m.manager.engine.readyState, "open");
    assert.equal(aOther.connected, true);
  });

  test(`[${mode}] disconnect-sockets with close closes the connections`, async () => {
    const obs = await h.observer(server);
    const m = h.managerFor(server, { mode });
    const root = await m.connect("/");
    const other = await m.connect("/my-namespace");
    const caller = await h.connect(server, { mode });
    const engineClosed = h.once(m.manager.engine, "close", 3000);
    const otherGone = h.once(other, "disconnect");
    const rootGone = h.once(root, "disconnect");
    const report = h.observed(obs, "disconnect", root.id);

    await h.emitWithAck(caller, "disconnect-sockets", { rooms: root.id, close: true });
    assert.equal((await rootGone)[0], "io server disconnect");
    assert.equal((await report).reason, "server namespace disconnect");
    await engineClosed;
    await otherGone;
    assert.equal(caller.connected, true);
  });
}
