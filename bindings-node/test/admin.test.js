"use strict";

// instrument() with @socket.io/admin-ui's options and import shape, on the own listener and
// attached to an express app; its option errors; the admin namespace belongs to the core.

const assert = require("node:assert/strict");
const http = require("node:http");
const express = require("express");
const { Server, instrument, InMemoryStore } = require("roomcast");
const h = require("./helpers");

// bcrypt (cost 4) of "changeit".
const HASH = "$2a$04$Nuhbtc8R0U8W77mJV6FSBektPVo6XIgJMnjwupIk9Z0PxTLNeVaRS";
const LOGIN = { username: "admin", password: "changeit" };

async function configOf(ioOrUrl, auth = LOGIN) {
  const admin = h.client(ioOrUrl, { nsp: "/admin", auth });
  const config = h.once(admin, "config");
  await h.once(admin, "connect");
  return (await config)[0];
}

h.test("instrument(io, options) as the npm package exports it, with an InMemoryStore", async () => {
  const io = h.startServer();
  instrument(io, { auth: { type: "basic", username: "admin", password: HASH }, store: new InMemoryStore(), mode: "development" });
  const config = await configOf(io);
  assert.ok(config.supportedFeatures.includes("ALL_EVENTS"));
  const refused = h.client(io, { nsp: "/admin", auth: { username: "admin", password: "wrong" } });
  const [err] = await h.once(refused, "connect_error");
  assert.equal(err.message, "invalid credentials");
  await h.cleanup();
});

h.test("attached to an express app, the UI's namespace answers on the app's port", async () => {
  const app = express();
  app.get("/health", (req, res) => res.send("ok"));
  const httpServer = http.createServer(app);
  const io = new Server(httpServer);
  io.instrument({ auth: false, readonly: true, mode: "production" });
  await new Promise((resolve) => httpServer.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${httpServer.address().port}`;
  try {
    const config = await configOf(url, {});
    assert.deepEqual(config.supportedFeatures, ["AGGREGATED_EVENTS"]);
  } finally {
    await h.cleanup();
    await io.close();
  }
});

h.test("options the npm package refuses are refused, by name", () => {
  const io = new Server();
  try {
    assert.throws(() => io.instrument({}), /the `auth` option must be specified/);
    assert.throws(() => io.instrument({ auth: { type: "digest" } }), /invalid `auth` option/);
    assert.throws(() => io.instrument({ auth: { type: "basic", username: "a", password: "plain" } }), /bcrypt/);
    assert.throws(() => io.instrument({ auth: false, store: { saveSession() {}, doesSessionExist() {} } }), /store/);
    assert.throws(() => instrument({}, { auth: false }), /roomcast Server/);
  } finally {
    io.close();
  }
});

h.test("the admin namespace is the core's: io.of() refuses it, instrument() runs once", async () => {
  const io = h.startServer();
  io.instrument({ auth: false });
  assert.throws(() => io.of("/admin"), /admin UI's namespace/);
  assert.throws(() => io.instrument({ auth: false }), /already instrumented/);
  const other = new Server();
  other.of("/admin");
  assert.throws(() => other.instrument({ auth: false }), /must not be created with io.of/);
  other.close();
  await configOf(io, {});
  await h.cleanup();
});

h.test("a server closed and listening again is still instrumented", async () => {
  const io = new Server();
  io.instrument({ auth: false });
  io.listen(0);
  try {
    await configOf(io, {});
    await h.cleanup();
    await io.close();
    io.listen(0);
    await configOf(io, {});
  } finally {
    await h.cleanup();
    await io.close();
  }
});
