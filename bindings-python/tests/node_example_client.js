// Drives the example-shaped apps (tests/apps) with the npm socket.io-client, the steps of
// test_socketio_examples.py's python client, and prints one JSON line: the events each of
// the two clients received, in order. Usage: node node_example_client.js <url> <transport> <close-event>
"use strict";

const { io } = require("socket.io-client");

const [url, transport, closeEvent] = process.argv.slice(2);
const opts = { transports: [transport], reconnection: false, forceNew: true };

function fail(err) {
  console.log(JSON.stringify({ error: String(err && err.message ? err.message : err) }));
  process.exit(1);
}
setTimeout(() => fail("timed out"), 15000);

/** A client whose non-tick events are recorded; next(n) resolves once n are there. */
function recorder(name, auth) {
  const socket = io(url, { ...opts, auth });
  const seen = [];
  let waiters = [];
  const record = (item) => {
    seen.push(item);
    waiters = waiters.filter(([n, resolve]) => (seen.length >= n ? (resolve(), false) : true));
  };
  socket.on("my_response", (msg) => {
    if (msg.data !== "Server generated event") record(["my_response", msg]);
  });
  socket.on("hello", (...args) => record(["hello", ...args]));
  socket.on("pong_from_server", () => record(["pong_from_server"]));
  socket.on("disconnect", (reason) => record(["disconnect", reason]));
  socket.on("connect_error", fail);
  const until = (n) => new Promise((resolve) => (seen.length >= n ? resolve() : waiters.push([n, resolve])));
  return { name, socket, seen, until };
}

async function main() {
  // The WSGI app's connect handler takes no auth (python-socketio refuses it then).
  const a = recorder("a", closeEvent === "close room" ? { name: "ann" } : undefined);
  await a.until(1);
  if (closeEvent === "close room") await a.until(2); // the ASGI app also says hello
  let na = a.seen.length;
  const step = async (c, event, data, expectA, expectB) => {
    if (data === undefined) c.socket.emit(event);
    else c.socket.emit(event, data);
    na += expectA;
    nb += expectB;
    await Promise.all([a.until(na), b ? b.until(nb) : null]);
  };
  let nb = 0;
  let b = null;
  await step(a, "my_event", { data: "one" }, 1, 0);
  await step(a, "join", { room: "r" }, 1, 0);
  b = recorder("b", undefined);
  nb = 1;
  await b.until(1);
  await step(b, "join", { room: "r" }, 0, 1);
  await step(a, "my_room_event", { room: "r", data: "to room" }, 1, 1);
  await step(a, "leave", { room: "r" }, 1, 0);
  await step(b, "my_room_event", { room: "r", data: "after leave" }, 0, 1);
  await step(a, "my_broadcast_event", { data: "all" }, 1, 1);
  await step(b, closeEvent, { room: "r" }, 0, 1);
  await step(b, "my_room_event", { room: "r", data: "closed" }, 0, 0);
  if (closeEvent === "close room") await step(a, "ping_from_client", undefined, 1, 0);
  await step(a, "my_event", { data: "marker a" }, 1, 0);
  await step(b, "my_event", { data: "marker b" }, 0, 1);
  const request = closeEvent === "close room" ? "disconnect request" : "disconnect_request";
  await step(a, request, undefined, 1, 0);
  b.socket.disconnect();
  console.log(JSON.stringify({ a: a.seen, b: b.seen }));
  process.exit(0);
}
main().catch(fail);
