"use strict";

// By default a failure in the application's code surfaces as an uncaught exception, as with
// socket.io (test runners see a failed assertion inside a handler that way); the
// catchHandlerErrors option keeps the catch-and-report behaviour.

const assert = require("node:assert/strict");
const { spawnSync } = require("node:child_process");
const { test } = require("./helpers");

/** Runs a server whose `setup(io, fail)` code throws somewhere; the client connects with
 *  `clientCode`. Prints the messages of the uncaught exceptions the process saw. */
function run(setup, clientCode = "", options = "{}") {
  const script = `
    const { Server } = require("roomcast");
    const { io: connect } = require("socket.io-client");
    const seen = [];
    process.on("uncaughtException", (err) => {
      seen.push(err.message);
      if (seen.length === 1) setImmediate(finish);
    });
    const io = new Server(0, ${options});
    const client = connect("http://127.0.0.1:" + io.address().port, { transports: ["websocket"], reconnection: false });
    function finish() {
      console.log(JSON.stringify(seen));
      client.close();
      io.close(() => process.exit(0));
    }
    ${setup}
    ${clientCode}
    setTimeout(() => { console.log(JSON.stringify(seen)); process.exit(3); }, 5000);
  `;
  const result = spawnSync(process.execPath, ["-e", script], { cwd: __dirname, encoding: "utf8", timeout: 10000 });
  return { status: result.status, seen: JSON.parse(result.stdout.trim().split("\n").pop() || "[]"), stderr: result.stderr };
}

test("a throwing connection handler is an uncaught exception", () => {
  const r = run(`io.on("connection", () => { throw new Error("from connection"); });`);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.seen, ["from connection"]);
});

test("a rejecting async connection handler is an uncaught exception", () => {
  const r = run(`io.on("connection", async () => { await null; throw new Error("from async connection"); });`);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.seen, ["from async connection"]);
});

test("a throwing middleware is an uncaught exception", () => {
  const r = run(`io.use(() => { throw new Error("from middleware"); });`);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.seen, ["from middleware"]);
});

test("a throwing event listener is an uncaught exception", () => {
  const r = run(
    `io.on("connection", (s) => {
       s.on("boom", () => { throw new Error("from listener"); });
       s.on("after", () => { throw new Error("after arrived"); });
     });`,
    `client.on("connect", () => { client.emit("boom"); client.emit("after"); });`,
  );
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.seen[0], "from listener");
});

test("a socket.use() refusal without an error listener is an uncaught exception", () => {
  const r = run(
    `io.on("connection", (s) => s.use((packet, next) => next(new Error("refused packet"))));`,
    `client.on("connect", () => client.emit("x"));`,
  );
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.seen, ["refused packet"]);
});

test("with catchHandlerErrors the failure is printed and the process carries on", () => {
  const r = run(
    `io.on("connection", (s) => {
       s.on("ok", () => { throw new Error("second"); });
       throw new Error("caught one");
     });`,
    `client.on("connect", () => client.emit("ok"));
     setTimeout(() => { console.log(JSON.stringify(seen)); client.close(); io.close(() => process.exit(0)); }, 1000);`,
    "{ catchHandlerErrors: true }",
  );
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.seen, []);
  assert.match(r.stderr, /roomcast: a "connection" listener of namespace \/ failed: Error: caught one/);
  assert.match(r.stderr, /roomcast: the "ok" listener of socket \S+ on \/ failed: Error: second/);
});
