"use strict";

// A JavaScript handler that blocks the event loop while a client floods: the events waiting
// for JavaScript are bounded (maxHostBacklogPerSocket), the flooding client's connection is
// closed with the reason "host backlog full" and a warning, memory stays bounded, and another
// client is served once the loop is free again. The flooder runs in a process of its own so
// the blocked loop does not stop it sending.

const { afterEach } = require("node:test");
const assert = require("node:assert/strict");
const { spawn } = require("node:child_process");
const h = require("./helpers");
const { test } = h;

afterEach(() => h.cleanup());

const EVENTS = 400;
const SIZE = 64 * 1024; // 25 MiB in all, against a bound of 2 MiB

function flooder(url) {
  const source = `
    const { io } = require("socket.io-client");
    const c = io(${JSON.stringify(url)}, { transports: ["websocket"], reconnection: false });
    c.on("connect", () => {
      process.stdout.write("connected\\n");
      c.emit("block");
      const filler = "x".repeat(${SIZE});
      for (let i = 0; i < ${EVENTS}; i++) c.emit("flood", i, filler);
    });
    c.on("disconnect", (reason) => { process.stdout.write("disconnect " + reason + "\\n"); process.exit(0); });
  `;
  return spawnLines(source);
}

/**
 * Two clients: once both are connected the first emits "block", and once the server answers
 * "blocking" (sent while JavaScript is held up) each emits `events` events of SIZE bytes.
 */
function twoFlooders(url, events) {
  const source = `
    const { io } = require("socket.io-client");
    const sockets = [0, 1].map(() => io(${JSON.stringify(url)}, { transports: ["websocket"], reconnection: false, forceNew: true }));
    let connected = 0;
    sockets.forEach((c, i) => {
      c.on("connect", () => {
        if (++connected === 2) {
          process.stdout.write("connected\\n");
          sockets[0].emit("block");
        }
      });
      c.on("disconnect", (reason) => process.stdout.write("disconnect " + i + " " + reason + "\\n"));
    });
    sockets[0].on("blocking", () => {
      const filler = "x".repeat(${SIZE});
      for (let n = 0; n < ${events}; n++) for (const c of sockets) c.emit("flood", n, filler);
    });
  `;
  return spawnLines(source);
}

/** Runs `source` in a Node process; `line(prefix)` resolves with its first stdout line that starts with `prefix`. */
function spawnLines(source) {
  const child = spawn(process.execPath, ["-e", source], { cwd: __dirname, stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  const lines = [];
  const waiters = [];
  child.stdout.on("data", (d) => {
    out += d;
    let i;
    while ((i = out.indexOf("\n")) >= 0) {
      lines.push(out.slice(0, i));
      out = out.slice(i + 1);
      for (const w of waiters.splice(0)) w();
    }
  });
  const line = (prefix) =>
    new Promise((resolve) => {
      const check = () => {
        const found = lines.find((l) => l.startsWith(prefix));
        if (found) resolve(found);
        else waiters.push(check);
      };
      check();
    });
  return { child, line };
}

test("a flood while JavaScript is blocked: the flooding connection is closed, memory bounded, others served", { timeout: 30000 }, async () => {
  const io = h.startServer({ maxHostBacklogPerSocket: 2 << 20 });
  const reasons = new Map();
  let handled = 0;
  let blocked;
  const blockStarted = new Promise((resolve) => (blocked = resolve));
  let left;
  const disconnectHandled = new Promise((resolve) => (left = resolve));
  io.on("connection", (socket) => {
    socket.on("block", () => {
      blocked();
      // Blocks the loop until the core has closed the flooder (its socket leaves the
      // session ends in Rust, which stats() reads without the loop).
      const end = Date.now() + 5000;
      while (Date.now() < end && io._native.stats().sessions > 0) {
        // spin: a handler doing CPU work
      }
    });
    socket.on("flood", () => handled++);
    socket.on("echo", (v, ack) => ack(v));
    socket.on("disconnect", (reason) => {
      reasons.set(socket.id, reason);
      left();
    });
  });
  const rssBefore = process.memoryUsage().rss;
  const f = flooder(h.urlOf(io));
  try {
    await h.within(f.line("connected"), "flooder connected", 10000);
    await h.within(blockStarted, "the handler blocks", 10000);
    const closed = await h.within(f.line("disconnect"), "the flooder is disconnected", 15000);
    assert.equal(closed, "disconnect transport close");
    // The flooder may print its disconnect before the loop has run the disconnect handler.
    await h.within(disconnectHandled, "the disconnect handler runs", 10000);
    assert.deepEqual([...reasons.values()], ["host backlog full"]);
    assert.ok(handled < EVENTS, `${handled} of ${EVENTS} flood events reached the handler`);
    const grown = (process.memoryUsage().rss - rssBefore) / (1 << 20);
    assert.ok(grown < 64, `RSS grew by ${grown.toFixed(1)} MB`);
    const other = await h.connect(io);
    assert.equal(await h.within(other.emitWithAck("echo", "after"), "echo"), "after");
  } finally {
    f.child.kill();
  }
});

test("two floods, each under the per-socket bound, together past the per-server bound", { timeout: 30000 }, async () => {
  // Each socket sends 28 x 64 KiB = 1.75 MiB, under its own bound of 2 MiB; together 3.5 MiB,
  // past the server's 3 MiB.
  const events = 28;
  const io = h.startServer({ maxHostBacklogPerSocket: 2 << 20, maxHostBacklog: 3 << 20 });
  const reasons = new Map();
  let handled = 0;
  io.on("connection", (socket) => {
    socket.on("block", () => {
      socket.emit("blocking");
      // Blocks the loop until the core has closed one of the two flooders.
      const end = Date.now() + 10000;
      while (Date.now() < end && io._native.stats().sessions > 1) {
        // spin: a handler doing CPU work
      }
    });
    socket.on("flood", () => handled++);
    socket.on("echo", (v, ack) => ack(v));
    socket.on("disconnect", (reason) => reasons.set(socket.id, reason));
  });
  const f = twoFlooders(h.urlOf(io), events);
  try {
    await h.within(f.line("connected"), "flooders connected", 10000);
    const closed = await h.within(f.line("disconnect"), "a flooder is disconnected", 15000);
    assert.match(closed, / transport close$/);
    const other = await h.connect(io);
    assert.equal(await h.within(other.emitWithAck("echo", "after"), "echo"), "after");
    assert.ok([...reasons.values()].includes("host backlog full"), JSON.stringify([...reasons.values()]));
    assert.ok(handled < 2 * events, `${handled} of ${2 * events} flood events reached the handler`);
  } finally {
    f.child.kill();
  }
});
