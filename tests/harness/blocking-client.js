// Clients for the bindings' blocking-handler tests (bindings-node/test/blocking.test.js,
// bindings-python/tests/test_blocking.py), in a process of their own so that they keep
// answering heartbeats and sending events while a handler blocks the server's JavaScript or
// Python thread (clients in the server's process would be blocked with it). Prints one JSON
// line with what they saw. Usage: node blocking-client.js <url> <transport> <block ms>
//
// a asks the server to block; once the handler has started (it emits "blocking" first), a and
// b send numbered events, c connects and d leaves. Everything is recorded: heartbeats (pings)
// received during the block, disconnections, the answers, whether c's Engine.IO handshake was
// answered before the block ended, and how long after the block started c heard CONNECT (it
// comes with c's connection handler, which runs once the block is over).
"use strict";

const { io } = require("socket.io-client");

const [url, transport, blockArg] = process.argv.slice(2);
const blockMs = Number(blockArg);
const EVENTS = 5;

function fail(err) {
  console.log(JSON.stringify({ error: String(err && err.message ? err.message : err) }));
  process.exit(1);
}
setTimeout(() => fail("timed out"), blockMs + 10000);
process.on("unhandledRejection", fail);

function open() {
  const socket = io(url, { transports: [transport], reconnection: false, forceNew: true });
  const seen = { pings: 0, disconnects: [], welcomed: false };
  socket.io.on("ping", () => seen.pings++);
  socket.on("disconnect", (reason) => seen.disconnects.push(reason));
  const welcomed = new Promise((resolve) =>
    socket.on("welcome", () => {
      seen.welcomed = true;
      resolve();
    }),
  );
  const connected = new Promise((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("connect_error", reject);
  });
  return { socket, seen, connected, welcomed };
}

/** Emits with an acknowledgement; resolves with its first argument. */
function call(socket, ...args) {
  return socket.timeout(blockMs + 5000).emitWithAck(...args);
}

async function main() {
  const [a, b, d] = [open(), open(), open()];
  await Promise.all([a.connected, b.connected, d.connected]);
  await Promise.all([a.welcomed, b.welcomed, d.welcomed]);

  const blocking = new Promise((resolve) => a.socket.once("blocking", resolve));
  let blockEnded = false;
  const blockAnswer = call(a.socket, "block", blockMs).then((answer) => {
    blockEnded = true;
    return answer;
  });
  await blocking;
  const start = Date.now();
  const pingsBefore = { a: a.seen.pings, b: b.seen.pings };

  // While the handler blocks:
  const answers = { a: [], b: [] };
  const calls = [];
  for (let i = 0; i < EVENTS; i++) {
    for (const [name, client] of [["a", a], ["b", b]]) {
      calls.push(call(client.socket, "seq", name, i).then((n) => answers[name].push(n)));
    }
  }
  const c = open();
  let cOpenedDuringBlock = null;
  let cConnectedAfterMs = null;
  c.socket.io.once("open", () => (cOpenedDuringBlock = !blockEnded));
  c.connected.then(() => (cConnectedAfterMs = Date.now() - start)).catch(() => {}); // awaited below
  const left = d.socket.id;
  d.socket.disconnect();

  const block = await blockAnswer;
  const result = {
    block,
    blockedMs: Date.now() - start,
    pingsDuringBlock: { a: a.seen.pings - pingsBefore.a, b: b.seen.pings - pingsBefore.b },
  };
  await Promise.all(calls);
  await c.connected;
  await c.welcomed;
  Object.assign(result, {
    answers,
    left,
    cOpenedDuringBlock,
    cConnectedAfterMs,
    cWelcomed: c.seen.welcomed,
    connected: { a: a.socket.connected, b: b.socket.connected, c: c.socket.connected },
    disconnects: { a: [...a.seen.disconnects], b: [...b.seen.disconnects], c: [...c.seen.disconnects] },
  });
  for (const client of [a, b, c]) client.socket.disconnect();
  console.log(JSON.stringify(result));
  process.exit(0);
}

main().catch(fail);
