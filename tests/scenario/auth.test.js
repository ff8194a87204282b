"use strict";

// The asynchronous middleware of "/auth": rejection with a message and data, acceptance with
// the right token, and the handshake auth visible to the connection handler.

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

async function rejected(options) {
  const socket = h.createClient(server, { nsp: "/auth", ...options });
  const [err] = await h.once(socket, "connect_error", 3000, { rejectOn: ["connect"] });
  assert.equal(socket.connected, false);
  return err;
}

for (const mode of MODES) {
  test(`[${mode}] /auth rejects a missing token with message and data`, async () => {
    const err = await rejected({ mode });
    assert.equal(err.message, "unauthorized");
    assert.deepEqual(err.data, { reason: "bad token" });
  });

  test(`[${mode}] /auth rejects a wrong token with message and data`, async () => {
    const err = await rejected({ mode, auth: { token: "guess" } });
    assert.equal(err.message, "unauthorized");
    assert.deepEqual(err.data, { reason: "bad token" });
  });

  test(`[${mode}] /auth accepts the right token and the handler sees the handshake auth`, async () => {
    const auth = { token: "secret", user: "ann", roles: ["a", "b"] };
    const socket = h.createClient(server, { mode, nsp: "/auth", auth });
    const welcome = h.once(socket, "welcome");
    await h.waitConnected(socket, mode);
    assert.equal(socket.id.length, 20);
    assert.deepEqual(await welcome, [auth]);
  });

  test(`[${mode}] a rejected namespace leaves the connection's other namespaces working`, async () => {
    const m = h.managerFor(server, { mode });
    const root = await m.connect("/");
    const denied = m.socket("/auth", { auth: { token: "nope" } });
    const [err] = await h.once(denied, "connect_error", 3000, { rejectOn: ["connect"] });
    assert.equal(err.message, "unauthorized");
    assert.deepEqual(await h.emitWithAckArgs(root, "echo", 1), [1]);

    // the same connection can then join /auth with the right token
    denied.auth = { token: "secret" };
    const welcome = h.once(denied, "welcome");
    denied.connect();
    await h.waitConnected(denied, mode);
    assert.deepEqual(await welcome, [{ token: "secret" }]);
  });
}
