"use strict";

// Broadcasts to large selections (70 sockets: enough for roomcast to keep the selection from
// one broadcast to the next) follow every change between two broadcasts: sockets that join,
// leave, connect and disconnect, and senders that skip themselves. On "/" every socket has an outgoing listener; on
// "/my-namespace" none has, so both ways a socket takes a broadcast are covered.

const assert = require("node:assert/strict");
const h = require("../harness");
const { test, MODES } = h;

const CROWD = 70;

let server;
h.before(async () => {
  server = await h.startServer();
});
h.afterEach(() => h.closeAllClients());
h.after(async () => {
  h.closeAllClients();
  if (server) await server.stop();
});

/** Connects `count` clients in groups, so the accept queue is never flooded. */
async function connectCrowd(mode, count, nsp) {
  const sockets = [];
  while (sockets.length < count) {
    const n = Math.min(20, count - sockets.length);
    sockets.push(...(await h.connectMany(server, n, { mode, nsp })));
  }
  return sockets;
}

/** Disconnects `socket` and waits until the server has removed it. */
async function leaveAndWait(watcher, socket) {
  const id = socket.id;
  const gone = h.observed(watcher, "disconnect", id);
  socket.disconnect();
  await gone;
}

for (const mode of MODES) {
  test(`[${mode}] a room of ${CROWD} on "/" follows joins, leaves and disconnects between broadcasts`, async () => {
    const watcher = await h.observer(server);
    const crowd = await connectCrowd(mode, CROWD, "/");
    const room = h.unique("crowd");
    await Promise.all(crowd.map((s) => h.emitWithAck(s, "join", room)));
    const [leaver, gone, ...stayers] = crowd;
    const late = await h.connect(server, { mode });
    const everyone = [leaver, ...stayers, late];
    const w = h.watch(everyone, "n");
    const emit = (n) => h.emitWithAck(watcher, "emit-to", { rooms: room, event: "n", args: [n] });

    assert.equal(await emit(1), true);
    assert.equal(await emit(2), true);
    await leaveAndWait(watcher, gone);
    assert.equal(await emit(3), true);
    await h.emitWithAck(late, "join", room);
    await h.emitWithAck(leaver, "leave", room);
    assert.equal(await emit(4), true);

    const got = await w.settle(watcher);
    assert.deepEqual(got[0], [[1], [2], [3]], "the socket that left the room");
    for (let i = 1; i < everyone.length - 1; i++) {
      assert.deepEqual(got[i], [[1], [2], [3], [4]], `member ${i}`);
    }
    assert.deepEqual(got[everyone.length - 1], [[4]], "the socket that joined late");
  });

  test(`[${mode}] senders to a room of ${CROWD} skip themselves and the sockets they except`, async () => {
    const watcher = await h.observer(server);
    const crowd = await connectCrowd(mode, CROWD, "/");
    const room = h.unique("crowd");
    const even = h.unique("even");
    await Promise.all(crowd.map((s, i) => h.emitWithAck(s, "join", i % 2 === 0 ? [room, even] : room)));
    const w = h.watch(crowd, "b");
    for (let i = 0; i < 3; i++) {
      assert.equal(await h.emitWithAck(crowd[i], "broadcast-to", { rooms: room, event: "b", args: [i] }), true);
    }
    const except = (sender, n, rooms) =>
      h.emitWithAck(crowd[sender], "broadcast-to", { rooms: room, except: rooms, event: "b", args: [n] });
    // Itself and one more socket, by id; then itself and every even member.
    assert.equal(await except(3, 3, crowd[4].id), true);
    assert.equal(await except(5, 5, even), true);

    const got = await w.settle(watcher);
    got.forEach((events, i) => {
      const want = [0, 1, 2].filter((s) => s !== i).map((s) => [s]);
      if (i !== 3 && i !== 4) want.push([3]);
      if (i !== 5 && i % 2 === 1) want.push([5]);
      assert.deepEqual(events, want, `member ${i}`);
    });
  });

  test(`[${mode}] a broadcast to all ${CROWD} sockets of /my-namespace follows connects and disconnects`, async () => {
    const watcher = await h.observer(server);
    const crowd = await connectCrowd(mode, CROWD, "/my-namespace");
    const [gone, ...stayers] = crowd;
    const w = h.watch(stayers, "n");
    const emit = (n, rooms) =>
      h.emitWithAck(watcher, "emit-to", { nsp: "/my-namespace", rooms, event: "n", args: [n] });

    assert.equal(await emit(1), true);
    assert.equal(await emit(2), true);
    await leaveAndWait(watcher, gone);
    assert.equal(await emit(3), true);
    const late = await h.connect(server, { mode, nsp: "/my-namespace" });
    const lateW = h.watch([late], "n");
    assert.equal(await emit(4), true);
    // Many rooms at once: the ids of every socket but the first two stayers.
    assert.equal(await emit(5, stayers.slice(2).map((s) => s.id)), true);

    const got = await w.settle(watcher);
    got.forEach((events, i) => {
      const want = i < 2 ? [[1], [2], [3], [4]] : [[1], [2], [3], [4], [5]];
      assert.deepEqual(events, want, `stayer ${i}`);
    });
    assert.deepEqual((await lateW.settle(watcher))[0], [[4]], "the socket that connected late");
  });
}
