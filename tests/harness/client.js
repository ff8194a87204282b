"use strict";

// socket.io-client helpers: one option set per transport mode, connection helpers that wait
// for the connection (and for the upgrade in "upgrade" mode), and tracking so that a test
// file can close every client it opened.

const { io, Manager } = require("socket.io-client");
const { once, DEFAULT_TIMEOUT_MS } = require("./wait");

/** websocket only, long-polling only, long-polling then upgraded to websocket. */
const MODES = ["websocket", "polling", "upgrade"];

function modeOptions(mode) {
  switch (mode) {
    case "websocket":
      return { transports: ["websocket"], upgrade: false };
    case "polling":
      return { transports: ["polling"], upgrade: false };
    case "upgrade":
      return { transports: ["polling", "websocket"], upgrade: true, rememberUpgrade: false };
    default:
      throw new Error(`unknown transport mode ${JSON.stringify(mode)}`);
  }
}

const openManagers = new Set();

function baseOptions(mode, extra = {}) {
  return {
    forceNew: true,
    reconnection: false,
    timeout: DEFAULT_TIMEOUT_MS,
    ...modeOptions(mode),
    ...extra,
  };
}

function urlOf(target) {
  return typeof target === "string" ? target : target.url;
}

/** Resolves once the engine runs over websocket (immediately if it already does). */
function upgraded(socketOrManager, timeoutMs = DEFAULT_TIMEOUT_MS) {
  const manager = socketOrManager.io || socketOrManager;
  const engine = manager.engine;
  if (manager.__upgradedOnce) return Promise.resolve();
  if (engine && engine.transport && engine.transport.name === "websocket") return Promise.resolve();
  return once(engine, "upgrade", timeoutMs).then(() => undefined);
}

function transportName(socket) {
  const engine = socket.io.engine;
  return engine && engine.transport ? engine.transport.name : undefined;
}

function track(manager) {
  openManagers.add(manager);
  // the "upgrade" event may fire before anybody waits for it: remember it from the start
  manager.__upgradedOnce = false;
  if (manager.engine) {
    manager.engine.once("upgrade", () => {
      manager.__upgradedOnce = true;
    });
  }
  return manager;
}

/**
 * Creates a client socket without waiting for anything.
 * options: nsp ("/"), mode ("websocket"), auth, query, and any socket.io-client option.
 */
function createClient(server, { nsp = "/", mode = "websocket", auth, ...extra } = {}) {
  const manager = track(new Manager(urlOf(server), baseOptions(mode, extra)));
  return manager.socket(nsp, auth === undefined ? {} : { auth });
}

/**
 * Connects a client and resolves once it is connected (and upgraded, in "upgrade" mode).
 * Rejects on connect_error.
 */
async function connect(server, options = {}) {
  const socket = createClient(server, options);
  await waitConnected(socket, options.mode || "websocket");
  return socket;
}

async function waitConnected(socket, mode, timeoutMs = DEFAULT_TIMEOUT_MS) {
  if (!socket.connected) {
    await once(socket, "connect", timeoutMs, { rejectOn: ["connect_error"] });
  }
  if (mode === "upgrade") {
    await upgraded(socket, timeoutMs);
  }
  return socket;
}

/** Connects `count` clients in parallel. */
function connectMany(server, count, options = {}) {
  return Promise.all(Array.from({ length: count }, () => connect(server, options)));
}

/**
 * A manager (one engine.io connection) for several namespaces.
 * `await managerFor(server, {mode}).connect("/nsp", {auth})`.
 */
function managerFor(server, { mode = "websocket", ...extra } = {}) {
  const manager = track(new Manager(urlOf(server), baseOptions(mode, extra)));
  return {
    manager,
    socket(nsp = "/", opts = {}) {
      return manager.socket(nsp, opts);
    },
    async connect(nsp = "/", opts = {}) {
      const socket = manager.socket(nsp, opts);
      return waitConnected(socket, mode);
    },
  };
}

/** Closes every client created through this module. */
function closeAllClients() {
  for (const manager of openManagers) {
    for (const socket of Object.values(manager.nsps || {})) {
      socket.disconnect();
    }
    manager._close ? manager._close() : manager.engine && manager.engine.close();
  }
  openManagers.clear();
}

/**
 * Stops the engine of a client from answering the server's pings (the engine.io protocol v4
 * has the server ping and the client answer with a pong).
 */
function suppressPongs(socket) {
  const engine = socket.io.engine;
  const original = engine._sendPacket;
  if (typeof original !== "function") {
    throw new Error("engine.io-client internals changed: no _sendPacket");
  }
  engine._sendPacket = function patched(type, ...rest) {
    if (type === "pong") return undefined;
    return original.call(this, type, ...rest);
  };
}

module.exports = {
  MODES,
  io,
  Manager,
  modeOptions,
  createClient,
  connect,
  connectMany,
  waitConnected,
  managerFor,
  upgraded,
  transportName,
  closeAllClients,
  suppressPongs,
};
