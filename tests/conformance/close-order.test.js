"use strict";

// A poll the client sent, aborted, then sent again on a new connection is answered in that
// order (the second gets 400), as the reference's single thread answers them, even when the
// runtime serves the second connection first: overlapping polls are ordered by arrival (the
// connection accepted first), not by which task ran first.

const net = require("node:net");
const assert = require("node:assert/strict");
const { test, describe, before, after, startServer, cleanup, within, PollingSession } = require("./lib");

describe("client-initiated close, order across connections", () => {
  let server;
  before(async () => {
    server = await startServer({});
  });
  after(() => cleanup(server));

  test("polling: a poll aborted and sent again is answered in the order it was sent", async () => {
    // The first GET and its FIN are in the kernel before the second connection is opened, so
    // the reference handles the first (and ends the session, its poll cancelled) before it
    // reads the second, which finds the sid unknown. A server that accepts both connections
    // at once must not start the second first: the second would park, the first would then
    // overlap it, and the client would take the close `1` with a 200.
    for (let i = 0; i < 20; i++) {
      const session = await PollingSession.create(server);
      const request = `GET ${session.path()} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`;
      const first = net.connect({ host: "127.0.0.1", port: server.port });
      first.on("error", () => {});
      const sent = new Promise((resolve) => first.on("finish", resolve));
      first.on("connect", () => first.end(request));
      await within(sent, 3000, "the first GET written");
      const second = net.connect({ host: "127.0.0.1", port: server.port });
      second.on("error", () => {});
      const chunks = [];
      second.on("data", (c) => chunks.push(c));
      const answered = new Promise((resolve) => second.on("close", resolve));
      second.on("connect", () => second.write(request));
      await within(answered, 3000, "the second GET's answer");
      first.destroy();
      const answer = Buffer.concat(chunks).toString("utf8");
      // 400 either way: the sid unknown, or (the first poll still pending when the second is
      // read, as the reference may see it too) an overlap.
      assert.match(answer, /^HTTP\/1\.1 400 /, `iteration ${i}: ${JSON.stringify(answer)}`);
    }
  });
});
