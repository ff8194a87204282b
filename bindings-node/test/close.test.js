"use strict";

// io.close(): afterwards nothing of roomcast keeps the process alive. Each case is a script
// that serves, talks to a client, closes, and must then exit by itself.

const assert = require("node:assert/strict");
const { spawn } = require("node:child_process");
const h = require("./helpers");
const { test } = h;

/** Runs `source` with node; resolves with {code, signal, stdout, stderr, ms}. */
function run(source, timeoutMs = 10000) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, ["-e", source], { cwd: __dirname, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c) => (stdout += c));
    child.stderr.on("data", (c) => (stderr += c));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - started });
    });
  });
}

const CLIENT = `
const { io: connect } = require("socket.io-client");
function client(url, transports) {
  return new Promise((resolve, reject) => {
    const c = connect(url, { transports, reconnection: false, forceNew: true });
    c.on("connect", () => resolve(c));
    c.on("connect_error", reject);
  });
}
`;

test("own listener: io.close() with connected clients, then the process exits", async () => {
  const result = await run(`${CLIENT}
    const { Server } = require("roomcast");
    const io = new Server(0);
    const reasons = [];
    io.on("connection", (s) => s.on("disconnect", (r) => reasons.push(r)));
    const url = "http://127.0.0.1:" + io.address().port;
    Promise.all([client(url, ["websocket"]), client(url, ["polling"])]).then(async (clients) => {
      await new Promise((r) => setTimeout(r, 50));
      await io.close();
      console.log("closed", reasons.join("|"));
    });
  `);
  assert.equal(result.signal, null, `killed: the process did not exit by itself\n${result.stderr}`);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /closed server shutting down\|server shutting down/);
});

test("attached to an http.Server: io.close() closes it too, then the process exits", async () => {
  const result = await run(`${CLIENT}
    const http = require("node:http");
    const { Server } = require("roomcast");
    const httpServer = http.createServer((req, res) => res.end("app"));
    const io = new Server(httpServer);
    httpServer.listen(0, "127.0.0.1", async () => {
      const url = "http://127.0.0.1:" + httpServer.address().port;
      await Promise.all([client(url, ["websocket"]), client(url, ["polling"]), client(url, ["polling", "websocket"])]);
      io.close((err) => console.log("closed", err ? err.message : "cleanly", httpServer.listening));
    });
  `);
  assert.equal(result.signal, null, `killed: the process did not exit by itself\n${result.stderr}`);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /closed cleanly false/);
});

test("a server that never listened does not keep the process alive", async () => {
  const result = await run(`
    const { Server } = require("roomcast");
    const io = new Server({ pingInterval: 1000 });
    io.of("/x").on("connection", () => {});
    console.log("created");
  `);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout.trim(), "created");
});

test("a listening server keeps the process alive until closed", async () => {
  const result = await run(`
    const { Server } = require("roomcast");
    const io = new Server(0);
    setTimeout(() => { console.log("still alive"); io.close(); }, 300).unref();
  `);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout.trim(), "still alive");
  assert.ok(result.ms >= 250);
});
