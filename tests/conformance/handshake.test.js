"use strict";

// Engine.IO v4 handshake ("Handshake", "Transports" sections of the engine.io protocol).

const assert = require("node:assert/strict");
const {
  test,
  describe,
  before,
  after,
  startServer,
  cleanup,
  request,
  eioPath,
  decodePayload,
  parseOpen,
  assertErrorBody,
  PollingSession,
  WsClient,
  SID_RE,
} = require("./lib");

const OPEN_KEYS = ["sid", "upgrades", "pingInterval", "pingTimeout", "maxPayload"];

describe("handshake (default transports)", () => {
  let server;
  before(async () => {
    server = await startServer({ PING_INTERVAL: "21000", PING_TIMEOUT: "17000", MAX_HTTP_BUFFER_SIZE: "54321" });
  });
  after(() => cleanup(server));

  test("polling GET answers 200 with a single open packet", async () => {
    const res = await request(server, "GET", eioPath(server));
    assert.equal(res.status, 200);
    assert.equal(res.headers["content-type"], "text/plain; charset=UTF-8");
    assert.equal(Number(res.headers["content-length"]), res.body.length);
    // not in the spec: engine.io marks every polling response uncacheable
    assert.equal(res.headers["cache-control"], "no-store");
    const packets = decodePayload(res.text);
    assert.equal(packets.length, 1);
    assert.equal(packets[0][0], "0");
    const open = parseOpen(packets[0]);
    assert.deepEqual(Object.keys(open), OPEN_KEYS);
    assert.match(open.sid, SID_RE);
    assert.deepEqual(open.upgrades, ["websocket"]);
    assert.equal(open.pingInterval, 21000);
    assert.equal(open.pingTimeout, 17000);
    assert.equal(open.maxPayload, 54321);
    // the exact bytes, key order included
    assert.equal(
      res.text,
      `0{"sid":"${open.sid}","upgrades":["websocket"],"pingInterval":21000,"pingTimeout":17000,"maxPayload":54321}`,
    );
  });

  test("every handshake gets a fresh sid", async () => {
    const sids = new Set();
    for (let i = 0; i < 5; i++) sids.add((await PollingSession.create(server)).sid);
    assert.equal(sids.size, 5);
  });

  test("extra query parameters (the t cache buster) are accepted", async () => {
    const session = await PollingSession.create(server, { t: "N8hyd6w", foo: "bar" });
    assert.match(session.sid, SID_RE);
  });

  test("direct websocket handshake: the open packet is the first frame, a text frame", async () => {
    const client = await WsClient.open(server);
    assert.ok(client instanceof WsClient, `upgrade refused: ${JSON.stringify(client)}`);
    const first = await client.next();
    assert.equal(typeof first.text, "string", "first frame must be a text frame");
    const open = parseOpen(first.text);
    assert.deepEqual(Object.keys(open), OPEN_KEYS);
    assert.match(open.sid, SID_RE);
    // websocket is the best transport already: nothing to upgrade to
    assert.deepEqual(open.upgrades, []);
    assert.equal(open.pingInterval, 21000);
    assert.equal(open.pingTimeout, 17000);
    assert.equal(open.maxPayload, 54321);
    client.terminate();
  });

  test("the polling session's sid is then usable for GET and POST", async () => {
    const session = await PollingSession.create(server);
    await session.send("40");
    const packets = await session.poll();
    assert.equal(packets.length, 1);
    assert.match(packets[0], /^40\{"sid":"[A-Za-z0-9_-]{20}"\}$/);
  });
});

describe("handshake with TRANSPORTS=websocket", () => {
  let server;
  before(async () => {
    server = await startServer({ TRANSPORTS: "websocket" });
  });
  after(() => cleanup(server));

  test("websocket handshake lists no upgrades", async () => {
    const client = await WsClient.session(server);
    assert.deepEqual(client.open.upgrades, []);
    client.terminate();
  });

  test("polling is refused with code 0 Transport unknown", async () => {
    const res = await request(server, "GET", eioPath(server));
    assertErrorBody(res, 0, "Transport unknown");
  });
});

describe("handshake with TRANSPORTS=polling", () => {
  let server;
  before(async () => {
    server = await startServer({ TRANSPORTS: "polling" });
  });
  after(() => cleanup(server));

  test("polling handshake lists no upgrades", async () => {
    const session = await PollingSession.create(server);
    assert.deepEqual(session.open.upgrades, []);
  });

  test("a websocket upgrade request is refused with 400 code 0 Transport unknown", async () => {
    const result = await WsClient.open(server);
    assert.ok(result.rejected, "the upgrade must not succeed");
    assert.equal(result.rejected.status, 400);
    // reference: without the websocket transport the upgrade is handled as a plain request
    assert.equal(result.rejected.text, '{"code":0,"message":"Transport unknown"}');
  });
});

describe("handshake with SIO_PATH=/custom/", () => {
  let server;
  before(async () => {
    server = await startServer({ SIO_PATH: "/custom/" });
  });
  after(() => cleanup(server));

  test("the handshake is served on the configured path", async () => {
    const res = await request(server, "GET", "/custom/?EIO=4&transport=polling");
    assert.equal(res.status, 200);
    assert.match(parseOpen(res.text).sid, SID_RE);
    const ws = await WsClient.session(server);
    assert.match(ws.open.sid, SID_RE);
    ws.terminate();
  });
});
