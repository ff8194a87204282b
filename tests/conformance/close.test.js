"use strict";

// Closing an engine.io session from the client side: the close packet `1` ("Protocol" packet
// types) over long-polling, and closing the websocket itself.

const assert = require("node:assert/strict");
const net = require("node:net");
const {
  test,
  describe,
  before,
  after,
  startServer,
  cleanup,
  within,
  afterArrival,
  request,
  eioPath,
  decodePayload,
  PollingSession,
  WsClient,
} = require("./lib");

describe("client-initiated close", () => {
  let server;
  before(async () => {
    server = await startServer({});
  });
  after(() => cleanup(server));

  test("polling: POST `1` answers ok, releases the pending GET with `6`, the sid is gone", async () => {
    const session = await PollingSession.create(server);
    await session.connect("/");
    const pending = session.get(5000);
    await afterArrival(server, pending);
    const res = await session.post("1");
    assert.equal(res.status, 200);
    assert.equal(res.text, "ok");
    const released = await within(pending, 3000, "pending GET");
    assert.equal(released.status, 200);
    assert.deepEqual(decodePayload(released.text), ["6"]);
    await session.expectGone();
  });

  test("polling: POST `1` without a pending GET, the sid is gone", async () => {
    const session = await PollingSession.create(server);
    await session.send("1");
    await session.expectGone();
    const post = await session.post('42["echo",1]');
    assert.equal(post.status, 400);
    assert.equal(post.text, '{"code":1,"message":"Session ID unknown"}');
  });

  test("polling: packets after `1` in the same payload are ignored", async () => {
    const session = await PollingSession.create(server);
    await session.send(["1", "40"]);
    await session.expectGone();
  });

  test("polling: a GET whose connection closes before its answer ends the session", async () => {
    // reference: engine.io closes the session when a pending poll's request closes ("poll
    // connection closed prematurely"). The request and the FIN are sent together, so the
    // server often reads both at once, before it started to handle the request: that
    // request counts as received all the same. Several sessions, as that is a race.
    for (let i = 0; i < 20; i++) {
      const session = await PollingSession.create(server);
      const socket = net.connect({ host: "127.0.0.1", port: server.port });
      const closed = new Promise((resolve) => socket.on("close", resolve));
      socket.on("error", () => {});
      socket.on("connect", () => {
        socket.end(`GET ${session.path()} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
      });
      await within(closed, 3000, "the server closing the aborted connection");
      // The abort came first, so the session is already forgotten: not engine.io's bare 400
      // for overlapping polls (the dead poll still waiting), nor a close packet owed. Also on
      // the attach path, where Node reports the close and hands over the next GET in order.
      const first = await session.get(3000);
      assert.equal(first.status, 400, `GET -> ${first.status} ${first.text}`);
      assert.match(first.text, /Session ID unknown/);
    }
  });

  test("websocket: a close packet `1` from the client is ignored", async () => {
    // reference: engine.io only acts on `1` over long-polling; over websocket the client closes
    // the websocket itself
    const ws = await WsClient.session(server);
    assert.match(await ws.connect("/"), /^40\{"sid":/);
    ws.send("1");
    await ws.expectNothingWithin(300);
    ws.send('42["echo","alive"]');
    assert.equal(await ws.nextText(), '42["echo","alive"]');
    ws.terminate();
  });

  test("websocket: closing the websocket ends the session", async () => {
    const ws = await WsClient.session(server);
    ws.ws.close(1000);
    await ws.waitClosed();
    // the sid becomes unknown (while it still exists, a polling GET is a transport mismatch)
    const deadline = Date.now() + 3000;
    let res;
    do {
      res = await request(server, "GET", eioPath(server, { sid: ws.open.sid }));
    } while (res.text.includes('"code":3') && Date.now() < deadline);
    assert.equal(res.status, 400);
    assert.equal(res.text, '{"code":1,"message":"Session ID unknown"}');
  });
});
