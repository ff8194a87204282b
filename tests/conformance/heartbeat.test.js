"use strict";

// Engine.IO v4 heartbeat ("Heartbeat" section): the server sends `2` every pingInterval, the
// client answers `3` within pingTimeout, or the server considers the connection closed.
// Times are measured, with generous bounds; nothing here sleeps.

const assert = require("node:assert/strict");
const {
  test,
  describe,
  before,
  after,
  startServer,
  cleanup,
  decodePayload,
  PollingSession,
  WsClient,
  expectWsClosedByServer,
} = require("./lib");

const INTERVAL = 200;
const TIMEOUT = 200;
// the first ping may come this early / late after the handshake or the previous pong
const PING_MIN = INTERVAL - 50;
const PING_MAX = INTERVAL + 800;
// close after an unanswered ping: reference closes pingTimeout after the ping
const CLOSE_MIN = TIMEOUT - 50;
const CLOSE_MAX = 1500;

describe("heartbeat", () => {
  let server;
  before(async () => {
    server = await startServer({ PING_INTERVAL: String(INTERVAL), PING_TIMEOUT: String(TIMEOUT) });
  });
  after(() => cleanup(server));

  test("polling: `2` every ~pingInterval; answering `3` keeps the session", async () => {
    const session = await PollingSession.create(server);
    let last = Date.now();
    for (let i = 0; i < 3; i++) {
      const packets = await session.poll(3000);
      const now = Date.now();
      assert.deepEqual(packets, ["2"]);
      const gap = now - last;
      assert.ok(gap >= PING_MIN && gap <= PING_MAX, `ping ${i + 1} came ${gap} ms after the previous pong`);
      await session.send("3");
      last = Date.now();
    }
    // alive well past interval + timeout: it still answers a CONNECT
    assert.match(await session.connect("/"), /^40\{"sid":/);
  });

  test("polling: an unanswered ping ends the session (pending GET gets `1`)", async () => {
    const session = await PollingSession.create(server);
    const opened = Date.now();
    assert.deepEqual(await session.poll(3000), ["2"]);
    const pinged = Date.now();
    const res = await session.get(3000);
    const closed = Date.now();
    assert.equal(res.status, 200);
    assert.deepEqual(decodePayload(res.text), ["1"]);
    const sincePing = closed - pinged;
    assert.ok(sincePing >= CLOSE_MIN && sincePing <= CLOSE_MAX, `closed ${sincePing} ms after the ping`);
    assert.ok(closed - opened >= INTERVAL + TIMEOUT - 50, `closed only ${closed - opened} ms after the handshake`);
    await session.expectGone();
  });

  test("websocket: `2` every ~pingInterval as text frames; answering `3` keeps it open", async () => {
    const client = await WsClient.session(server);
    let last = client.openedAt;
    for (let i = 0; i < 3; i++) {
      const frame = await client.next(3000);
      assert.equal(frame.text, "2");
      const gap = frame.at - last;
      assert.ok(gap >= PING_MIN && gap <= PING_MAX, `ping ${i + 1} came ${gap} ms after the previous pong`);
      client.send("3");
      last = Date.now();
    }
    client.send("40");
    assert.match(await client.nextText(), /^40\{"sid":/);
    assert.equal(client.isClosed, false);
    client.terminate();
  });

  test("websocket: an unanswered ping closes the connection", async () => {
    const client = await WsClient.session(server);
    const ping = await client.next(3000);
    assert.equal(ping.text, "2");
    const { code, at, frames } = await expectWsClosedByServer(client, 3000);
    // no close packet `1` precedes the close over websocket
    assert.deepEqual(frames, []);
    // reference: a close frame without status code
    assert.equal(code, 1005);
    const sincePing = at - ping.at;
    assert.ok(sincePing >= CLOSE_MIN && sincePing <= CLOSE_MAX, `closed ${sincePing} ms after the ping`);
    assert.ok(at - client.openedAt >= INTERVAL + TIMEOUT - 50, `closed only ${at - client.openedAt} ms after open`);
  });

  test("websocket: a ping `2` from the client closes the connection (v4 reversed the direction)", async () => {
    const client = await WsClient.session(server);
    client.send("2");
    const { code } = await client.waitClosed(1000);
    assert.equal(code, 1005);
  });

  test("polling: a ping `2` from the client ends the session", async () => {
    const session = await PollingSession.create(server);
    await session.send("2");
    await session.expectEnded(1000);
  });
});
