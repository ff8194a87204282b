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
    socket.on("disconnect", (reason) => reasons.set(socket.id, reason));
  });
  const rssBefore = process.memoryUsage().rss;
  const f = flooder(h.urlOf(io));
  try {
    await h.within(f.line("connected"), "flooder connected", 10000);
    await h.within(blockStarted, "the handler blocks", 10000);
    const closed = await h.within(f.line("disconnect"), "the flooder is disconnected", 15000);
    assert.equal(closed, "disconnect transport close");
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
