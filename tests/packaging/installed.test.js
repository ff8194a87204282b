"use strict";

// The npm package as a user installs it: ROOMCAST_INSTALL_DIR is a fresh folder where the
// packed tarballs were installed (scripts/test-node). Checks where the addon came from
// (ROOMCAST_EXPECT_ADDON: "prebuilt" = the @roomcast/<target> package, "source" = the install
// script's build from the tarball's own sources), that it is an optimised build, and that a
// real client gets through a connection, an event with an ack and a broadcast.

const { test } = require("node:test");
const assert = require("node:assert/strict");
const path = require("node:path");

const dir = process.env.ROOMCAST_INSTALL_DIR;
const expected = process.env.ROOMCAST_EXPECT_ADDON;

function fromInstall(name) {
  return require(require.resolve(name, { paths: [path.resolve(dir)] }));
}

test("the installed package loads its addon from where it should", { skip: !dir && "ROOMCAST_INSTALL_DIR is not set" }, () => {
  // lib/native.js is not exported: reach it through the package's folder.
  const pkgDir = path.dirname(require.resolve("roomcast/package.json", { paths: [path.resolve(dir)] }));
  const native = require(path.join(pkgDir, "lib", "native.js"));
  const installed = path.join(path.resolve(dir), "node_modules");
  assert.ok(native.ADDON_PATH.startsWith(installed), `addon loaded from ${native.ADDON_PATH}, outside ${installed}`);
  if (expected === "prebuilt") {
    assert.match(native.ADDON_PATH, /node_modules\/@roomcast\/[a-z0-9-]+\/roomcast\.[a-z0-9-]+\.node$/);
  } else if (expected === "source") {
    assert.match(native.ADDON_PATH, /node_modules\/roomcast\/roomcast\.[a-z0-9-]+\.node$/);
  }
});

test("a client connects, gets an ack and a room broadcast", { skip: !dir && "ROOMCAST_INSTALL_DIR is not set" }, async () => {
  const { Server } = fromInstall("roomcast");
  const { io: connect } = fromInstall("socket.io-client");
  const io = new Server(0);
  let client;
  try {
    io.on("connection", (socket) => {
      socket.join("room");
      socket.on("double", (n, ack) => ack(n * 2));
      socket.on("shout", (text) => io.to("room").emit("heard", text));
    });
    const port = io.address().port;
    client = connect(`http://127.0.0.1:${port}`, { transports: ["websocket"], reconnection: false });
    await new Promise((resolve, reject) => {
      client.once("connect", resolve);
      client.once("connect_error", reject);
    });
    assert.equal(await client.timeout(5000).emitWithAck("double", 21), 42);
    const heard = new Promise((resolve) => client.once("heard", resolve));
    client.emit("shout", "hello");
    assert.equal(await heard, "hello");
  } finally {
    if (client) client.close();
    await io.close();
  }
});
