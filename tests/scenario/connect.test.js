"use strict";

// Connecting to "/" and to "/my-namespace" (the seed), socket ids, unknown namespaces, the
// handshake as the server sees it, and the socket count.

const assert = require("node:assert/strict");
const h = require("../harness");
const { test, MODES } = h;

let server;
h.before(async () => {
  server = await h.startServer();
});
h.afterEach(() => h.closeAllClients());
h.after(async () => {
  h.closeAllClients();
  if (server) await server.stop();
});

const ADDRESS = /^(::ffff:)?127\.0\.0\.1$/;

for (const mode of MODES) {
  test(`[${mode}] connects to "/" with a 20-character id that is its own room`, async () => {
    const socket = await h.connect(server, { mode });
    assert.equal(typeof socket.id, "string");
    assert.equal(socket.id.length, 20);
    assert.equal(h.transportName(socket), mode === "polling" ? "polling" : "websocket");
    assert.deepEqual(await h.emitWithAck(socket, "rooms"), [socket.id]);
  });

  test(`[${mode}] "Hello everyone!" reaches every socket of /my-namespace when someone connects`, async () => {
    const root = await h.connect(server, { mode });

    const first = h.createClient(server, { mode, nsp: "/my-namespace" });
    const firstHi = h.once(first, "hi");
    await h.waitConnected(first, mode);
    assert.deepEqual(await firstHi, ["Hello everyone!"]);

    const w = h.watch([first, root], "hi");
    const second = h.createClient(server, { mode, nsp: "/my-namespace" });
    const secondHi = h.once(second, "hi");
    await h.waitConnected(second, mode);
    assert.deepEqual(await secondHi, ["Hello everyone!"]);
    // the first socket got it once more, the socket of "/" never
    assert.deepEqual(await w.settle(root), [[["Hello everyone!"]], []]);
  });

  test(`[${mode}] socket ids differ per namespace on one connection`, async () => {
    const m = h.managerFor(server, { mode });
    const root = await m.connect("/");
    const other = await m.connect("/my-namespace");
    assert.equal(root.id.length, 20);
    assert.equal(other.id.length, 20);
    assert.notEqual(root.id, other.id);
    assert.notEqual(root.id, m.manager.engine.id);
    assert.notEqual(other.id, m.manager.engine.id);
    assert.deepEqual(await h.emitWithAck(root, "rooms"), [root.id]);
  });

  test(`[${mode}] an unknown namespace fails with connect_error "Invalid namespace"`, async () => {
    for (const nsp of ["/nope", "/dyn-abc", "/predicate"]) {
      const socket = h.createClient(server, { mode, nsp });
      const [err] = await h.once(socket, "connect_error", 3000, { rejectOn: ["connect"] });
      assert.equal(err.message, "Invalid namespace", nsp);
      assert.equal(socket.connected, false);
    }
  });

  test(`[${mode}] an unknown namespace does not close the connection's other namespaces`, async () => {
    const m = h.managerFor(server, { mode });
    const root = await m.connect("/");
    const bad = m.socket("/nope");
    const [err] = await h.once(bad, "connect_error", 3000, { rejectOn: ["connect"] });
    assert.equal(err.message, "Invalid namespace");
    assert.deepEqual(await h.emitWithAckArgs(root, "echo", "still", "here"), ["still", "here"]);
  });

  test(`[${mode}] the handshake is visible to the server`, async () => {
    const socket = await h.connect(server, {
      mode,
      query: { foo: "bar" },
      auth: { token: "t0k", n: 1 },
      extraHeaders: { "user-agent": "roomcast-scenario-suite" },
    });
    const hs = await h.emitWithAck(socket, "handshake");
    assert.equal(hs.query.foo, "bar");
    assert.equal(hs.query.EIO, "4");
    assert.equal(hs.query.transport, mode === "websocket" ? "websocket" : "polling");
    assert.deepEqual(hs.auth, { token: "t0k", n: 1 });
    assert.match(hs.address, ADDRESS);
    assert.equal(typeof hs.url, "string");
    assert.ok(hs.url.startsWith("/socket.io/?"), hs.url);
    assert.ok(hs.url.includes("foo=bar"), hs.url);
    assert.ok(hs.url.includes("EIO=4"), hs.url);
    assert.equal(hs.secure, false);
    assert.equal(hs.xdomain, false);
    assert.equal(hs.issued, "number");
    assert.equal(hs.time, "string");
    assert.deepEqual(hs.headers, { host: `127.0.0.1:${server.port}`, "user-agent": true });
  });

  test(`[${mode}] without auth the handshake auth is an empty object`, async () => {
    const socket = await h.connect(server, { mode });
    const hs = await h.emitWithAck(socket, "handshake");
    assert.deepEqual(hs.auth, {});
  });

  test(`[${mode}] a cross-origin handshake has xdomain true`, async () => {
    const socket = await h.connect(server, { mode, extraHeaders: { origin: "http://elsewhere.test" } });
    const hs = await h.emitWithAck(socket, "handshake");
    assert.equal(hs.xdomain, true);
  });
}

test("count follows connections and disconnections of /", async () => {
  // a dedicated server, so that no socket of another test is counted
  const own = await h.startServer();
  try {
    const obs = await h.observer(own);
    assert.equal(await h.emitWithAck(obs, "count"), 1);
    const a = await h.connect(own, { mode: "polling" });
    assert.equal(await h.emitWithAck(a, "count"), 2);
    const b = await h.connect(own, { mode: "upgrade" });
    assert.equal(await h.emitWithAck(b, "count"), 3);
    // a socket of another namespace is not counted
    await h.connect(own, { mode: "websocket", nsp: "/my-namespace" });
    assert.equal(await h.emitWithAck(obs, "count"), 3);

    const gone = h.observed(obs, "disconnect", b.id);
    b.disconnect();
    await gone;
    assert.equal(await h.emitWithAck(a, "count"), 2);
  } finally {
    h.closeAllClients();
    await own.stop();
  }
});
