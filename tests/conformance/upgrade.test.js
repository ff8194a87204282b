"use strict";

// Engine.IO upgrade from long-polling to WebSocket ("Upgrade" section), plus the rule that a
// client MUST NOT open more than one WebSocket per session ("WebSocket" section).

const assert = require("node:assert/strict");
const {
  test,
  describe,
  before,
  after,
  startServer,
  cleanup,
  within,
  afterArrival,
  assertErrorBody,
  decodePayload,
  PollingSession,
  WsClient,
} = require("./lib");

const UPGRADE_TIMEOUT = 400;

/** A polling session connected to `/`, with a websocket opened on its sid. */
async function probing(server) {
  const session = await PollingSession.create(server);
  assert.deepEqual(session.open.upgrades, ["websocket"]);
  assert.match(await session.connect("/"), /^40\{"sid":/);
  const ws = await WsClient.open(server, { sid: session.sid });
  assert.ok(ws instanceof WsClient, `upgrade refused: ${JSON.stringify(ws)}`);
  return { session, ws };
}

/** Opens one more websocket on `sid`: it must never carry a frame and must end. */
async function expectRefusedWebSocket(server, sid) {
  const second = await WsClient.open(server, { sid });
  if (second.rejected) {
    assert.equal(second.rejected.status, 400);
    return;
  }
  // reference: the upgrade completes (101), then the new websocket is closed at once (1005)
  const client = second instanceof WsClient ? second : second.client;
  const { code } = await client.waitClosed();
  assert.equal(client.queue.length, 0, "no frame may arrive on the extra websocket");
  assert.equal(code, 1005);
}

describe("upgrade", () => {
  let server;
  before(async () => {
    server = await startServer({ UPGRADE_TIMEOUT: String(UPGRADE_TIMEOUT) });
  });
  after(() => cleanup(server));

  test("2probe -> 3probe, pending GET released with `6`, `5` completes, then websocket only", async () => {
    const { session, ws } = await probing(server);
    const pending = session.get(5000);
    await afterArrival(server, pending);
    // no open packet on the upgrade websocket: the first frame is the probe answer
    ws.send("2probe");
    const probe = await ws.next();
    assert.equal(probe.text, "3probe");
    const released = await within(pending, 3000, "pending GET released by noop");
    assert.equal(released.status, 200);
    assert.deepEqual(decodePayload(released.text), ["6"]);
    ws.send("5");
    ws.send('421["echo","over ws"]');
    assert.equal(await ws.nextText(), '431["over ws"]');
    // polling requests on the upgraded sid are refused as a transport mismatch
    assertErrorBody(await session.get(), 3, "Bad request");
    assertErrorBody(await session.post('42["echo",1]'), 3, "Bad request");
    // and the session lives on over the websocket
    ws.send('42["echo","still"]');
    assert.equal(await ws.nextText(), '42["echo","still"]');
    ws.terminate();
  });

  test("a GET issued after the probe answer is answered `6`", async () => {
    const { session, ws } = await probing(server);
    ws.send("2probe");
    assert.equal(await ws.nextText(), "3probe");
    const res = await session.get(3000);
    assert.equal(res.status, 200);
    assert.deepEqual(decodePayload(res.text), ["6"]);
    ws.send("5");
    ws.send('42["echo",1]');
    assert.equal(await ws.nextText(), '42["echo",1]');
    ws.terminate();
  });

  test("packets buffered before the upgrade are flushed over the websocket after `5`", async () => {
    const { session, ws } = await probing(server);
    ws.send("2probe");
    assert.equal(await ws.nextText(), "3probe");
    assert.deepEqual(await session.poll(3000), ["6"]);
    // polling is paused now: this answer is buffered until the upgrade completes
    await session.send('42["echo","buffered"]');
    ws.send("5");
    assert.equal(await ws.nextText(), '42["echo","buffered"]');
    ws.terminate();
  });

  test("a second websocket on a session that is upgrading is closed without any frame", async () => {
    const { session, ws } = await probing(server);
    ws.send("2probe");
    assert.equal(await ws.nextText(), "3probe");
    await expectRefusedWebSocket(server, session.sid);
    // the first upgrade still completes
    ws.send("5");
    ws.send('42["echo",1]');
    assert.equal(await ws.nextText(), '42["echo",1]');
    ws.terminate();
  });

  test("a websocket on an already upgraded session is closed without any frame", async () => {
    const { session, ws } = await probing(server);
    ws.send("2probe");
    assert.equal(await ws.nextText(), "3probe");
    ws.send("5");
    ws.send('42["echo",1]');
    assert.equal(await ws.nextText(), '42["echo",1]');
    await expectRefusedWebSocket(server, session.sid);
    // the upgraded websocket is unaffected
    ws.send('42["echo",2]');
    assert.equal(await ws.nextText(), '42["echo",2]');
    ws.terminate();
  });

  test("a first packet other than 2probe closes the probing websocket; polling goes on", async () => {
    const { session, ws } = await probing(server);
    ws.send('42["echo",1]');
    await ws.waitClosed();
    assert.equal(ws.queue.length, 0);
    await session.send('42["echo","polling"]');
    assert.deepEqual(await session.poll(), ['42["echo","polling"]']);
  });

  test("an upgrade that never sends `5` is dropped after upgradeTimeout; polling goes on", async () => {
    const { session, ws } = await probing(server);
    ws.send("2probe");
    const probe = await ws.next();
    assert.equal(probe.text, "3probe");
    const { at } = await ws.waitClosed(UPGRADE_TIMEOUT + 2000);
    assert.ok(at - probe.at >= UPGRADE_TIMEOUT - 100, `dropped after ${at - probe.at} ms`);
    await session.send('42["echo","polling"]');
    const packets = await session.pollUntil((p) => p.startsWith("42"));
    // a `6` may precede: the reference nudges polling with noops while the probe is pending
    assert.deepEqual(packets.filter((p) => p !== "6"), ['42["echo","polling"]']);
  });

  test("namespace state survives the upgrade: a second CONNECT over the websocket is a violation", async () => {
    const { ws } = await probing(server);
    ws.send("2probe");
    assert.equal(await ws.nextText(), "3probe");
    ws.send("5");
    // already connected to `/` over polling: a second CONNECT on the websocket is a violation
    ws.send("40");
    const { code } = await ws.waitClosed();
    assert.equal(code, 1005);
  });
});
