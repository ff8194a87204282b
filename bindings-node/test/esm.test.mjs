// `import { Server } from "roomcast"` and `require("roomcast")` are the same classes.

import { test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import roomcast, { Server, Namespace, Socket, BroadcastOperator } from "roomcast";

const require = createRequire(import.meta.url);

test("ES module named and default exports match the CommonJS entry", async () => {
  const cjs = require("roomcast");
  assert.equal(Server, cjs.Server);
  assert.equal(Namespace, cjs.Namespace);
  assert.equal(Socket, cjs.Socket);
  assert.equal(BroadcastOperator, cjs.BroadcastOperator);
  assert.equal(roomcast.Server, Server);
  const io = new Server(0);
  assert.ok(io.address().port > 0);
  await io.close();
});
