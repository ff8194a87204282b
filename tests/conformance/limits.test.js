"use strict";

// Bounded request heads: a request whose headers are far too large is refused with 431 and
// the server keeps serving others.

const assert = require("node:assert/strict");
const net = require("node:net");
const { test, before, after, startServer, cleanup, request, eioPath, within } = require("./lib");

let server;
before(async () => {
  server = await startServer();
});
after(() => cleanup(server));

/** Sends raw bytes and resolves with what the server answered before closing (bounded). */
function raw(port, bytes) {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    let answer = "";
    socket.on("data", (d) => {
      answer += d.toString("latin1");
    });
    socket.on("error", () => resolve(answer));
    socket.on("close", () => resolve(answer));
    socket.write(bytes, () => {});
  });
}

test("a 128 KiB request head gets 431 and the server keeps serving", async () => {
  const head = `GET ${eioPath(server)} HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(128 * 1024)}\r\n\r\n`;
  const answer = await within(raw(server.port, head), 5000, "answer to a huge head");
  assert.match(answer, /^HTTP\/1\.1 431 /);
  const res = await request(server, "GET", eioPath(server));
  assert.equal(res.status, 200);
});
