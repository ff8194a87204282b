"use strict";

// Server-side broadcasting and operations: io.to / in / except, the volatile / local /
// compress / timeout flags, broadcast acks, fetchSockets, socketsJoin, socketsLeave,
// disconnectSockets.

const { before, after, afterEach } = require("node:test");
const assert = require("node:assert/strict");
const h = require("./helpers");
const { test } = h;

let io;
let peers;
before(async () => {
  io = h.startServer();
  peers = [];
  for (const name of ["a", "b", "c"]) {
    const connection = h.nextConnection(io);
    const client = await h.connect(io);
    const socket = await connection;
    peers.push({ name, client, socket });
  }
  peers[0].socket.join(["red", "all"]);
  peers[1].socket.join(["blue", "all"]);
  peers[2].socket.join(["red", "blue", "all"]);
});
afterEach(() => {
  for (const p of peers) p.client.removeAllListeners("news");
});
after(() => h.cleanup());

/** Which peers get `event` after `action`, proven by a marker sent to everyone afterwards. */
async function receivers(action) {
  const got = [];
  for (const p of peers) p.client.on("news", (...args) => got.push([p.name, ...args]));
  action();
  await Promise.all(peers.map((p) => h.once(p.client, "marker")).concat([Promise.resolve(io.emit("marker"))]));
  return got.sort();
}

test("io.emit, io.to(room), io.in(rooms), io.except(room)", async () => {
  assert.deepEqual(await receivers(() => io.emit("news", 1)), [["a", 1], ["b", 1], ["c", 1]]);
  assert.deepEqual(await receivers(() => io.to("red").emit("news", 2)), [["a", 2], ["c", 2]]);
  // several rooms deliver once per socket
  assert.deepEqual(await receivers(() => io.in(["red", "blue"]).emit("news", 3)), [["a", 3], ["b", 3], ["c", 3]]);
  assert.deepEqual(await receivers(() => io.to("all").except("blue").emit("news", 4)), [["a", 4]]);
  assert.deepEqual(await receivers(() => io.except(peers[0].socket.id).emit("news", 5)), [["b", 5], ["c", 5]]);
  assert.deepEqual(await receivers(() => io.to("nobody").emit("news", 6)), []);
});

test("io.volatile, io.local and io.compress() still deliver to ready clients", async () => {
  assert.deepEqual(await receivers(() => io.volatile.to("blue").emit("news", "v")), [["b", "v"], ["c", "v"]]);
  assert.deepEqual(await receivers(() => io.local.emit("news", "l")), [["a", "l"], ["b", "l"], ["c", "l"]]);
  assert.deepEqual(await receivers(() => io.compress(false).to("red").emit("news", "c")), [["a", "c"], ["c", "c"]]);
});

test("io.timeout(ms).emit with acks: every response, or the timeout with those that came", async () => {
  peers[0].client.on("poll", (ack) => ack("a"));
  peers[1].client.on("poll", (ack) => ack("b"));
  peers[2].client.on("poll", () => {}); // never answers
  try {
    const [err, responses] = await h.within(
      new Promise((resolve) => io.to("blue").except(peers[2].socket.id).timeout(1000).emit("poll", (...r) => resolve(r))),
      "broadcast ack",
    );
    assert.equal(err, null);
    assert.deepEqual(responses, ["b"]);

    const [late, partial] = await h.within(new Promise((resolve) => io.timeout(200).emit("poll", (...r) => resolve(r))), "timeout");
    assert.equal(late.message, "operation has timed out");
    assert.deepEqual(partial.sort(), ["a", "b"]);

    assert.deepEqual((await io.to("red").except(peers[2].socket.id).timeout(1000).emitWithAck("poll")).sort(), ["a"]);
    await assert.rejects(io.timeout(100).emitWithAck("poll"), (err) => {
      assert.equal(err.message, "operation has timed out");
      assert.deepEqual(err.responses.sort(), ["a", "b"]); // the answers that came in time
      return true;
    });
    // no recipient at all: answered at once
    assert.deepEqual(await io.to("nobody").timeout(1000).emitWithAck("poll"), []);
  } finally {
    for (const p of peers) p.client.removeAllListeners("poll");
  }
});

test("fetchSockets() returns this process's sockets with their rooms and data", async () => {
  peers[1].socket.data.role = "admin";
  await Promise.resolve();
  const all = await io.fetchSockets();
  assert.deepEqual(all.map((s) => s.id).sort(), peers.map((p) => p.socket.id).sort());
  const red = await io.in("red").fetchSockets();
  assert.deepEqual(red.map((s) => s.id).sort(), [peers[0].socket.id, peers[2].socket.id].sort());
  const blue = await io.in("blue").except("red").fetchSockets();
  assert.equal(blue.length, 1);
  assert.equal(blue[0], peers[1].socket);
  assert.deepEqual(blue[0].data, { role: "admin" });
  assert.ok(blue[0].rooms.has("blue"));
  assert.deepEqual([...(await io.allSockets())].sort(), peers.map((p) => p.socket.id).sort());
});

test("socketsJoin and socketsLeave", async () => {
  io.in("red").socketsJoin(["green", "yellow"]);
  assert.ok(peers[0].socket.rooms.has("green"));
  assert.ok(peers[2].socket.rooms.has("yellow"));
  assert.ok(!peers[1].socket.rooms.has("green"));
  io.in("green").socketsLeave("green");
  assert.ok(!peers[0].socket.rooms.has("green"));
  assert.ok(peers[0].socket.rooms.has("yellow"));
  io.socketsLeave("yellow");
  assert.ok(!peers[2].socket.rooms.has("yellow"));
});

test("disconnectSockets(close) disconnects the selected sockets only", async () => {
  const connection = h.nextConnection(io);
  const extra = await h.connect(io);
  const socket = await connection;
  socket.join("doomed");
  const reason = h.once(socket, "disconnect");
  const clientReason = h.once(extra, "disconnect");
  io.in("doomed").disconnectSockets(true);
  assert.deepEqual(await reason, ["server namespace disconnect"]);
  assert.equal((await clientReason)[0], "io server disconnect");
  for (const p of peers) assert.equal(p.socket.connected, true);
});
