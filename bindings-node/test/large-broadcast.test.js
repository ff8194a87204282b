"use strict";

// Broadcasts to thousands of sockets run on a runtime worker while JavaScript goes on; what a
// listener does after such a broadcast — emit to one socket, leave or join a room, answer an
// ack, disconnect — must still come after it, exactly as when the broadcast ran inline.

const { before, after } = require("node:test");
const assert = require("node:assert/strict");
const h = require("./helpers");
const { test } = h;

// Servers created from here on hand off broadcasts to 16 sockets or more (2048 by default).
process.env.ROOMCAST_HAND_OFF_MIN_RECIPIENTS = "16";
const CROWD = 40;

let io;
let observer;
let crowd;
let received;
before(async () => {
  io = h.startServer();
  io.on("connection", (socket) => {
    socket.join("big");
    socket.on("go", (round, ack) => {
      io.to("big").emit("seq", round, 1);
      socket.emit("seq", round, 2);
      io.to("big").emit("seq", round, 3);
      socket.leave("big");
      io.to("big").emit("seq", round, 4); // not for the observer: it has left
      socket.join("big");
      io.to("big").emit("seq", round, 5);
      ack(round);
    });
    socket.on("bye", () => {
      io.to("big").emit("last");
      socket.disconnect();
    });
  });
  crowd = await Promise.all(Array.from({ length: CROWD }, () => h.connect(io)));
  observer = crowd[0];
  received = new Map(crowd.map((c) => [c, 0]));
  for (const c of crowd) c.on("seq", () => received.set(c, received.get(c) + 1));
});

/** Resolves once every client has counted `n` "seq" events. */
function everyClientGot(n) {
  return new Promise((resolve) => {
    const check = () => {
      if ([...received.values()].every((k) => k >= n)) {
        for (const c of crowd) c.off("seq", check);
        resolve();
      }
    };
    for (const c of crowd) c.on("seq", check);
    check();
  });
}
after(() => h.cleanup());

test("what a listener does after a large broadcast reaches the client after it", async () => {
  const order = [];
  observer.on("seq", (round, step) => order.push(`${round}.${step}`));
  const ROUNDS = 20;
  for (let round = 0; round < ROUNDS; round++) {
    const answer = await observer.timeout(h.WAIT_MS).emitWithAck("go", round);
    assert.equal(answer, round);
    // The ack was sent last: everything before it has arrived, in order.
    assert.deepEqual(order.splice(0), [`${round}.1`, `${round}.2`, `${round}.3`, `${round}.5`]);
  }
  // Every client got four events a round (the others: broadcasts 1, 3, 4, 5), once each.
  await h.within(everyClientGot(ROUNDS * 4), "every broadcast at every client");
  // A duplicate would arrive before a marker sent to everyone afterwards.
  const markers = crowd.map((c) => h.once(c, "marker"));
  io.emit("marker");
  await Promise.all(markers);
  for (const n of received.values()) assert.equal(n, ROUNDS * 4);
});

test("a large broadcast then disconnect: the client gets the broadcast first", async () => {
  const seen = [];
  const gone = new Promise((resolve) => {
    observer.on("last", () => seen.push("last"));
    observer.on("disconnect", (reason) => {
      seen.push(reason);
      resolve();
    });
  });
  observer.emit("bye");
  await h.within(gone, "disconnect");
  assert.deepEqual(seen, ["last", "io server disconnect"]);
});
