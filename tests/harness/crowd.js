// A crowd of socket.io clients for tests that need many recipients
// (bindings-python/tests/test_large_broadcast.py), in a process of its own so that the
// server's process only runs the server. Usage: node crowd.js <url> <clients> <events>
//
// Connects <clients> websocket clients, prints {"ready":true}, then counts the "seq" events
// each receives. Once every client has <events> of them it waits for one "marker" event per
// client (a duplicate would arrive before it), prints {"counts":[...]} and exits.
"use strict";

const { io } = require("socket.io-client");

const [url, clientsArg, eventsArg] = process.argv.slice(2);
const CLIENTS = Number(clientsArg);
const EVENTS = Number(eventsArg);

function fail(err) {
  console.log(JSON.stringify({ error: String(err && err.message ? err.message : err) }));
  process.exit(1);
}
setTimeout(() => fail("timed out"), 60000).unref();
process.on("unhandledRejection", fail);

function open() {
  const socket = io(url, { transports: ["websocket"], reconnection: false, forceNew: true });
  return new Promise((resolve, reject) => {
    socket.once("connect", () => resolve(socket));
    socket.once("connect_error", reject);
  });
}

async function main() {
  const sockets = [];
  // In groups, so the server's accept queue is not flooded.
  while (sockets.length < CLIENTS) {
    const n = Math.min(50, CLIENTS - sockets.length);
    sockets.push(...(await Promise.all(Array.from({ length: n }, open))));
  }
  const counts = sockets.map(() => 0);
  let complete = 0;
  let markers = 0;
  const done = new Promise((resolve) => {
    sockets.forEach((s, i) => {
      s.on("seq", () => {
        counts[i] += 1;
        if (counts[i] === EVENTS) complete += 1;
      });
      s.on("marker", () => {
        markers += 1;
        if (markers === CLIENTS) resolve();
      });
    });
  });
  console.log(JSON.stringify({ ready: true }));
  await done;
  console.log(JSON.stringify({ counts, complete }));
  for (const s of sockets) s.disconnect();
  process.exit(0);
}

main().catch(fail);
