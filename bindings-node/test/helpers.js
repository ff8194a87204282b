"use strict";

// Shared helpers of the binding's tests: real servers on ephemeral ports, real socket.io-client
// connections, bounded waits.

const nodeTest = require("node:test");
const { io: ioClient } = require("socket.io-client");
const { Server } = require("roomcast");

const WAIT_MS = 3000;
const TEST_TIMEOUT_MS = 15000;

/** node:test's test() with a bound, so a hang fails one test instead of the run. */
function test(name, options, fn) {
  if (typeof options === "function") {
    fn = options;
    options = {};
  }
  return nodeTest.test(name, { timeout: TEST_TIMEOUT_MS, ...options }, fn);
}
const clients = new Set();
const servers = new Set();

/** Rejects with `what` after `ms`. */
function within(promise, what, ms = WAIT_MS) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** The arguments of the next `event` on an emitter (client or server side). */
function once(emitter, event, ms) {
  return within(new Promise((resolve) => emitter.once(event, (...args) => resolve(args))), `"${event}"`, ms);
}

/** A roomcast server on its own listener (port 0). */
function startServer(opts = {}) {
  const io = new Server(0, { ...opts });
  servers.add(io);
  return io;
}

function urlOf(io) {
  const address = io.address();
  return `http://127.0.0.1:${address.port}`;
}

/** A connected socket.io-client socket; `mode`: websocket (default), polling or upgrade. */
function connect(ioOrUrl, { nsp = "/", mode = "websocket", ...opts } = {}) {
  const base = typeof ioOrUrl === "string" ? ioOrUrl : urlOf(ioOrUrl);
  const transports = mode === "websocket" ? ["websocket"] : mode === "polling" ? ["polling"] : ["polling", "websocket"];
  const socket = ioClient(base + nsp, { transports, forceNew: true, reconnection: false, ...opts });
  clients.add(socket);
  return within(
    new Promise((resolve, reject) => {
      socket.once("connect", () => resolve(socket));
      socket.once("connect_error", reject);
    }),
    `connecting to ${nsp}`,
  );
}

/** A client socket that is not connected yet (for connect_error tests). */
function client(ioOrUrl, { nsp = "/", ...opts } = {}) {
  const base = typeof ioOrUrl === "string" ? ioOrUrl : urlOf(ioOrUrl);
  const socket = ioClient(base + nsp, { transports: ["websocket"], forceNew: true, reconnection: false, ...opts });
  clients.add(socket);
  return socket;
}

/** The server-side socket of the next connection to `nsp`. */
function nextConnection(nspOrServer) {
  return once(nspOrServer, "connection").then(([socket]) => socket);
}

async function cleanup() {
  for (const c of clients) c.disconnect();
  clients.clear();
  await Promise.all([...servers].map((s) => s.close()));
  servers.clear();
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

module.exports = { test, within, once, startServer, connect, client, nextConnection, cleanup, urlOf, sleep, WAIT_MS };
