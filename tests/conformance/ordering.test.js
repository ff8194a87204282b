"use strict";

// Requests of one session that travel on different connections are ordered by what the
// client sent first, not by which of the server's tasks happens to run first (the official
// Engine.IO / Socket.IO protocol suites check these; the reference, with one event loop, always
// passes them). Each case repeats, as a race lost once in a few tries is the bug.

const assert = require("node:assert/strict");
const {
  test,
  describe,
  before,
  after,
  startServer,
  cleanup,
  within,
  decodePayload,
  assertErrorBody,
  PollingSession,
  WsClient,
} = require("./lib");

const TRIES = 20;
const INTERVAL = 300;
const TIMEOUT = 200;

describe("ordering on one session", () => {
  let server;
  before(async () => {
    server = await startServer({ PING_INTERVAL: String(INTERVAL), PING_TIMEOUT: String(TIMEOUT) });
  });
  after(() => cleanup(server));

  test("a GET sent with the POST of `1` is answered `6`; the next GET finds the sid gone", async () => {
    // As the official suite sends them: fetch, so the GET may reuse the handshake's
    // connection while the POST opens another.
    const url = `http://127.0.0.1:${server.port}${server.path}?EIO=4&transport=polling`;
    for (let i = 0; i < TRIES; i++) {
      const sid = JSON.parse((await (await fetch(url)).text()).slice(1)).sid;
      const [poll, post] = await Promise.all([
        fetch(`${url}&sid=${sid}`),
        fetch(`${url}&sid=${sid}`, { method: "POST", body: "1" }),
      ]);
      const text = await poll.text();
      assert.equal(poll.status, 200, `try ${i + 1}: GET -> ${poll.status} ${text}`);
      assert.equal(text, "6");
      assert.equal(post.status, 200);
      assert.equal(await post.text(), "ok");
      const again = await fetch(`${url}&sid=${sid}`);
      assert.equal(again.status, 400);
      assert.equal(await again.text(), '{"code":1,"message":"Session ID unknown"}');
    }
  });

  test("a GET sent right after the WebSocket's `5` is refused as a transport mismatch", async () => {
    for (let i = 0; i < TRIES; i++) {
      const session = await PollingSession.create(server);
      const ws = await WsClient.open(server, { sid: session.sid });
      assert.ok(ws instanceof WsClient, `upgrade refused: ${JSON.stringify(ws)}`);
      ws.send("2probe");
      assert.equal(await ws.nextText(), "3probe");
      ws.send("5");
      const res = await session.get(3000);
      try {
        assertErrorBody(res, 3, "Bad request");
      } catch (e) {
        throw new Error(`try ${i + 1}: ${e.message}`);
      }
      ws.terminate();
    }
  });

  test("a request read after pingInterval + pingTimeout without a pong finds the sid gone", async () => {
    // The client's clock starts when it has the handshake, after the server's: a request sent
    // interval + timeout later arrives after the server's deadline, whichever task runs first.
    for (let i = 0; i < 5; i++) {
      const session = await PollingSession.create(server);
      await within(new Promise((r) => setTimeout(r, INTERVAL + TIMEOUT)), 5000, "heartbeat deadline");
      const res = i % 2 ? await session.post("3") : await session.get(3000);
      try {
        assertErrorBody(res, 1, "Session ID unknown");
      } catch (e) {
        throw new Error(`try ${i + 1}: ${e.message}`);
      }
    }
  });
});
