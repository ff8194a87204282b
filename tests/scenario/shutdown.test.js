"use strict";

// SIGTERM: the server runs io.close(), every connected client is disconnected, the process
// exits with status 0, and nothing listens on the port any more.

const assert = require("node:assert/strict");
const h = require("../harness");
const { test, MODES } = h;

h.afterEach(() => h.closeAllClients());

// io.close() closes the connections without a socket.io DISCONNECT packet ("transport close");
// a server that sends one first is also acceptable ("io server disconnect").
const CLOSE_REASONS = ["transport close", "io server disconnect"];

test("SIGTERM disconnects the clients of every transport and namespace, then the process exits", async () => {
  const server = await h.startServer();
  let stopped;
  try {
    const sockets = [];
    for (const mode of MODES) {
      sockets.push(await h.connect(server, { mode }));
      sockets.push(await h.connect(server, { mode, nsp: "/my-namespace" }));
    }
    const dyn = await h.connect(server, { mode: "websocket", nsp: `/dyn-${process.pid}` });
    sockets.push(dyn);
    // an idle long-polling connection with a pending GET, and an engine.io connection that has
    // not joined any namespace
    const rawPolling = await h.RawPollingClient.open(server);
    const pendingPoll = rawPolling.poll(5000).then(
      (packets) => ({ packets }),
      (err) => ({ err }),
    );
    const rawWs = await h.RawWebSocketClient.connect(server, { connect: false });

    const reasons = sockets.map((s) => h.once(s, "disconnect", 5000).then(([reason]) => reason));

    const exit = server.stop(); // SIGTERM, SIGKILL only after a bound
    stopped = true;
    for (const reason of await Promise.all(reasons)) {
      assert.ok(CLOSE_REASONS.includes(reason), reason);
    }
    await h.within(rawWs.closeEvent, 5000, "the raw websocket being closed");
    const poll = await pendingPoll;
    if (poll.packets) {
      // the pending GET is answered (with a close or noop packet) rather than left hanging
      assert.ok(poll.packets.every((p) => p === "1" || p === "6"), JSON.stringify(poll.packets));
    }

    const result = await exit;
    assert.equal(result.killed, false, "the process exited on SIGTERM by itself");
    assert.equal(result.code, 0);

    // nobody listens any more
    await assert.rejects(fetch(`${server.url}/`, { signal: AbortSignal.timeout(2000) }));
  } finally {
    if (!stopped) await server.stop();
  }
});

test("SIGTERM with no client connected exits promptly", async () => {
  const server = await h.startServer();
  const started = Date.now();
  const result = await server.stop();
  assert.equal(result.killed, false);
  assert.equal(result.code, 0);
  assert.ok(Date.now() - started < 3000, `took ${Date.now() - started} ms`);
});
