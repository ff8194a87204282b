"use strict";

// Disconnect reasons as the server reports them (through the `observers` room) and as the
// client sees them: client namespace disconnect, server namespace disconnect (with and without
// closing the connection), transport close, ping timeout.

const assert = require("node:assert/strict");
const h = require("../harness");
const { test, MODES } = h;

let server;
let fastPing; // a server with short ping interval and timeout
let obs;
let fastObs;

const PING_INTERVAL = 250;
const PING_TIMEOUT = 400;

h.before(async () => {
  [server, fastPing] = await Promise.all([
    h.startServer(),
    h.startServer({ env: { PING_INTERVAL: String(PING_INTERVAL), PING_TIMEOUT: String(PING_TIMEOUT) } }),
  ]);
});
h.beforeEach(async () => {
  obs = await h.observer(server);
  fastObs = await h.observer(fastPing);
});
h.afterEach(() => h.closeAllClients());
h.after(async () => {
  h.closeAllClients();
  await Promise.all([server, fastPing].filter(Boolean).map((s) => s.stop()));
});

/** Starts waiting for the server's report and the client's disconnect event at once. */
function expectDisconnect(observerSocket, socket) {
  return {
    server: h.observed(observerSocket, "disconnect", socket.id),
    client: h.once(socket, "disconnect", 3000).then(([reason]) => reason),
  };
}

for (const mode of MODES) {
  test(`[${mode}] client socket.disconnect(): "client namespace disconnect"`, async () => {
    const socket = await h.connect(server, { mode });
    const d = expectDisconnect(obs, socket);
    socket.disconnect();
    assert.equal(await d.client, "io client disconnect");
    const report = await d.server;
    assert.equal(report.reason, "client namespace disconnect");
    assert.equal(report.nsp, "/");
  });

  test(`[${mode}] disconnect-me false: "server namespace disconnect", the connection stays open`, async () => {
    const m = h.managerFor(server, { mode });
    const root = await m.connect("/");
    const other = await m.connect("/my-namespace");
    const engineId = m.manager.engine.id;
    const firstId = root.id;

    const d = expectDisconnect(obs, root);
    const w = h.watch([other], "disconnect");
    root.emit("disconnect-me", false);
    assert.equal(await d.client, "io server disconnect");
    assert.equal((await d.server).reason, "server namespace disconnect");
    assert.deepEqual(await w.settle(obs), [[]]);
    assert.equal(other.connected, true);

    // the same engine.io connection serves a new "/" socket
    root.connect();
    await h.waitConnected(root, mode);
    assert.notEqual(root.id, firstId);
    assert.equal(m.manager.engine.id, engineId);
    assert.deepEqual(await h.emitWithAckArgs(root, "echo", "again"), ["again"]);
  });

  test(`[${mode}] disconnect-me true: every namespace of the connection is disconnected and it closes`, async () => {
    const m = h.managerFor(server, { mode });
    const root = await m.connect("/");
    const other = await m.connect("/my-namespace");
    const engineClosed = h.once(m.manager.engine, "close", 3000);

    const dRoot = expectDisconnect(obs, root);
    const dOther = expectDisconnect(obs, other);
    root.emit("disconnect-me", true);
    assert.equal(await dRoot.client, "io server disconnect");
    assert.equal((await dRoot.server).reason, "server namespace disconnect");
    const otherReport = await dOther.server;
    assert.equal(otherReport.reason, "server namespace disconnect");
    assert.equal(otherReport.nsp, "/my-namespace");
    assert.equal(await dOther.client, "io server disconnect");
    await engineClosed;
  });

  test(`[${mode}] the client closes its engine: "transport close"`, async () => {
    const socket = await h.connect(server, { mode });
    const d = expectDisconnect(obs, socket);
    socket.io.engine.close();
    assert.equal(await d.client, "forced close");
    assert.equal((await d.server).reason, "transport close");
  });

  test(`[${mode}] a pong that never comes: "ping timeout"`, async () => {
    const socket = await h.connect(fastPing, { mode });
    h.suppressPongs(socket);
    const d = expectDisconnect(fastObs, socket);
    const report = await h.within(d.server, 4000, "ping timeout report");
    assert.equal(report.reason, "ping timeout");
    assert.deepEqual(report.rooms, []);
    // the server closed the transport under the client
    assert.equal(await d.client, "transport close");
  });

}

test("a client answering pings outlives several ping periods, in every mode", async () => {
  const sockets = await Promise.all(MODES.map((mode) => h.connect(fastPing, { mode })));
  await Promise.all(
    sockets.map(async (socket) => {
      const pings = h.collector(socket.io.engine, "ping");
      await pings.wait(3, 3000);
      pings.stop();
      assert.equal(socket.connected, true);
      assert.deepEqual(await h.emitWithAckArgs(socket, "echo", "alive"), ["alive"]);
    }),
  );
});

test("[websocket] a connection dropped without a close packet: \"transport close\"", async () => {
  const raw = await h.RawWebSocketClient.connect(server);
  const report = h.observed(obs, "disconnect", raw.sid);
  raw.close(); // terminates the TCP connection
  assert.equal((await report).reason, "transport close");
});

test("[polling] an engine.io close packet: \"transport close\"", async () => {
  const raw = await h.RawPollingClient.open(server);
  await raw.connect("/");
  const report = h.observed(obs, "disconnect", raw.socketId);
  await raw.close();
  assert.equal((await report).reason, "transport close");
});

test("[websocket] a raw client that never answers pings: \"ping timeout\"", async () => {
  const raw = await h.RawWebSocketClient.connect(fastPing, { answerPings: false });
  assert.equal(raw.handshake.pingInterval, PING_INTERVAL);
  assert.equal(raw.handshake.pingTimeout, PING_TIMEOUT);
  const report = h.observed(fastObs, "disconnect", raw.sid, 4000);
  // the server pings first
  assert.equal(await raw.next("2", 2000), "2");
  assert.equal((await report).reason, "ping timeout");
  await h.within(raw.closeEvent, 2000, "the server closing the websocket");
  raw.close();
});
