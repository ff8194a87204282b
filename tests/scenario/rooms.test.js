"use strict";

// Rooms: the own-id room, join/leave, io.to() delivery, several rooms, except, broadcast from
// a socket, "say to someone", empty rooms vanishing, leaving every room on disconnect.

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

function connectAll(mode, count) {
  return h.connectMany(server, count, { mode });
}

for (const mode of MODES) {
  test(`[${mode}] the own-id room is joined before the connection handler runs`, async () => {
    const socket = await h.connect(server, { mode });
    assert.deepEqual(await h.emitWithAck(socket, "rooms-at-connect"), [socket.id]);
  });

  test(`[${mode}] join and leave one or many rooms`, async () => {
    const socket = await h.connect(server, { mode });
    const [r1, r2, r3] = [h.unique("b"), h.unique("a"), h.unique("c")];
    assert.deepEqual(await h.emitWithAck(socket, "join", r1), sorted([socket.id, r1]));
    assert.deepEqual(await h.emitWithAck(socket, "join", [r2, r3]), sorted([socket.id, r1, r2, r3]));
    // joining twice changes nothing
    assert.deepEqual(await h.emitWithAck(socket, "join", r1), sorted([socket.id, r1, r2, r3]));
    assert.deepEqual(await h.emitWithAck(socket, "leave", r2), sorted([socket.id, r1, r3]));
    // leaving a room one is not in changes nothing
    assert.deepEqual(await h.emitWithAck(socket, "leave", h.unique("never")), sorted([socket.id, r1, r3]));
    assert.deepEqual(await h.emitWithAck(socket, "rooms"), sorted([socket.id, r1, r3]));
  });

  test(`[${mode}] io.to(room) reaches exactly the members of the room`, async () => {
    const [a, b, c] = await connectAll(mode, 3);
    const red = h.unique("red");
    const blue = h.unique("blue");
    await h.emitWithAck(a, "join", red);
    await h.emitWithAck(b, "join", blue);

    const w = h.watch([a, b, c], "paint");
    assert.equal(await h.emitWithAck(c, "emit-to", { rooms: red, event: "paint", args: ["red", 1] }), true);
    assert.deepEqual(await w.settle(c), [[["red", 1]], [], []]);
  });

  test(`[${mode}] to several rooms delivers once to a socket that is in several of them`, async () => {
    const [a, b, c, d] = await connectAll(mode, 4);
    const red = h.unique("red");
    const blue = h.unique("blue");
    await h.emitWithAck(a, "join", [red, blue]);
    await h.emitWithAck(b, "join", blue);
    await h.emitWithAck(c, "join", red);

    const w = h.watch([a, b, c, d], "paint");
    await h.emitWithAck(d, "emit-to", { rooms: [red, blue], event: "paint", args: ["x"] });
    assert.deepEqual(await w.settle(d), [[["x"]], [["x"]], [["x"]], []]);
  });

  test(`[${mode}] except() excludes the members of a room, or a socket id`, async () => {
    const [a, b, c] = await connectAll(mode, 3);
    const room = h.unique("room");
    const vip = h.unique("vip");
    await h.emitWithAck(a, "join", [room, vip]);
    await h.emitWithAck(b, "join", room);

    let w = h.watch([a, b, c], "news");
    await h.emitWithAck(c, "emit-to", { rooms: room, except: vip, event: "news", args: [2] });
    assert.deepEqual(await w.settle(c), [[], [[2]], []]);

    w = h.watch([a, b, c], "news");
    await h.emitWithAck(c, "emit-to", { rooms: room, except: [b.id], event: "news", args: [3] });
    assert.deepEqual(await w.settle(c), [[[3]], [], []]);

    // except without rooms: everybody but the excluded room
    w = h.watch([a, b, c], "news");
    await h.emitWithAck(c, "emit-to", { except: room, event: "news", args: [4] });
    assert.deepEqual(await w.settle(c), [[], [], [[4]]]);
  });

  test(`[${mode}] socket.broadcast excludes the sender`, async () => {
    const [a, b, c] = await connectAll(mode, 3);
    const room = h.unique("room");
    for (const s of [a, b, c]) await h.emitWithAck(s, "join", room);

    let w = h.watch([a, b, c], "shout");
    assert.equal(await h.emitWithAck(a, "broadcast-to", { rooms: room, event: "shout", args: ["hey"] }), true);
    assert.deepEqual(await w.settle(a), [[], [["hey"]], [["hey"]]]);

    w = h.watch([a, b, c], "shout");
    await h.emitWithAck(a, "broadcast-to", { rooms: room, except: b.id, event: "shout", args: ["2"] });
    assert.deepEqual(await w.settle(a), [[], [], [["2"]]]);

    // without rooms: everybody but the sender
    w = h.watch([a, b, c], "shout");
    await h.emitWithAck(a, "broadcast-to", { event: "shout", args: ["all"] });
    assert.deepEqual(await w.settle(a), [[], [["all"]], [["all"]]]);
  });

  test(`[${mode}] "say to someone" reaches the target id only`, async () => {
    const [a, b, c] = await connectAll(mode, 3);
    const w = h.watch([a, b, c], "my message");
    a.emit("say to someone", b.id, "psst");
    // a's marker request is handled after its "say to someone"
    assert.deepEqual(await w.settle(a), [[], [["psst"]], []]);
  });

  test(`[${mode}] empty rooms vanish`, async () => {
    const obs = await h.observer(server);
    const [a, b] = await connectAll(mode, 2);
    const room = h.unique("room");
    const other = h.unique("other");

    await h.emitWithAck(a, "join", room);
    assert.ok((await h.emitWithAck(obs, "all-rooms")).includes(room));
    await h.emitWithAck(a, "leave", room);
    assert.ok(!(await h.emitWithAck(obs, "all-rooms")).includes(room));

    await h.emitWithAck(b, "join", other);
    const before = await h.emitWithAck(obs, "all-rooms");
    assert.ok(before.includes(other));
    assert.ok(before.includes(b.id));
    const bId = b.id;
    const gone = h.observed(obs, "disconnect", bId);
    b.disconnect();
    await gone;
    const after = await h.emitWithAck(obs, "all-rooms");
    assert.ok(!after.includes(other), "room of the disconnected socket");
    assert.ok(!after.includes(bId), "own-id room of the disconnected socket");
  });

  test(`[${mode}] a disconnecting socket still has its rooms; after disconnect it has none`, async () => {
    const obs = await h.observer(server);
    const [socket, peer] = await connectAll(mode, 2);
    const x = h.unique("x");
    const y = h.unique("y");
    await h.emitWithAck(socket, "join", [x, y]);
    await h.emitWithAck(peer, "join", y);
    const id = socket.id;

    const disconnecting = h.observed(obs, "disconnecting", id);
    const disconnected = h.observed(obs, "disconnect", id);
    socket.disconnect();
    assert.deepEqual(await disconnecting, {
      id,
      nsp: "/",
      reason: "client namespace disconnect",
      rooms: sorted([id, x, y]),
    });
    assert.deepEqual(await disconnected, { id, nsp: "/", reason: "client namespace disconnect", rooms: [] });

    // the remaining member still gets the room's broadcasts
    const w = h.watch([peer, obs], "late");
    await h.emitWithAck(obs, "emit-to", { rooms: [x, y], event: "late" });
    assert.deepEqual(await w.settle(obs), [[[]], []]);
  });
}
