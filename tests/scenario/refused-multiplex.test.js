"use strict";

// A namespace refused by a synchronous middleware on a connection that already serves "/":
// the client gets its connect_error every time, and "/" stays connected. Repeated, since the
// refusal races the connection's other traffic.

const assert = require("node:assert/strict");
const h = require("../harness");
const { test, MODES } = h;

const ITERATIONS = 20;

let server;

h.before(async () => {
  server = await h.startServer();
});
h.afterEach(() => h.closeAllClients());
h.after(async () => {
  h.closeAllClients();
  if (server) await server.stop();
});

for (const mode of MODES) {
  test(`[${mode}] a sync middleware's refusal on a multiplexed connection answers, ${ITERATIONS} times`, async () => {
    for (let i = 0; i < ITERATIONS; i++) {
      const m = h.managerFor(server, { mode });
      const root = await m.connect("/");
      const refused = m.socket("/refused");
      const [err] = await h.once(refused, "connect_error", 5000, { rejectOn: ["connect"] });
      assert.equal(err.message, "refused", `iteration ${i + 1}`);
      assert.deepEqual(err.data, { reason: "sync" });
      assert.deepEqual(await h.emitWithAckArgs(root, "echo", i), [i]);
      m.manager.engine.close();
    }
  });
}
