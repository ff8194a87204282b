"use strict";

// `volatile` drops a packet whenever the transport could not take it at once, as engine.io's
// `writable`: right after a regular packet (its write is not done yet), or over polling
// without a waiting GET. On an idle transport it is delivered.

const assert = require("node:assert/strict");
const { after } = require("node:test");
const h = require("./helpers");

after(() => h.cleanup());

const ROUNDS = 30;

for (const mode of ["websocket", "polling"]) {
  h.test(`[${mode}] a volatile emit right after a regular one is dropped (${ROUNDS} rounds)`, { timeout: 60000 }, async () => {
    const io = h.startServer();
    io.on("connection", (s) => {
      s.on("go", () => {
        s.emit("ev", "regular");
        s.volatile.emit("ev", "volatile");
        s.volatile.to(s.id).emit("ev", "volatile broadcast");
        // Something regular after them, so the client knows the round is over.
        setImmediate(() => s.emit("end"));
      });
    });
    let delivered = 0;
    for (let i = 0; i < ROUNDS; i++) {
      const client = await h.connect(io, { mode });
      const seen = [];
      client.on("ev", (what) => seen.push(what));
      const end = h.once(client, "end");
      client.emit("go");
      await end;
      assert.equal(seen[0], "regular");
      if (seen.length > 1) delivered += 1;
      client.close();
    }
    assert.equal(delivered, 0, `volatile packets delivered in ${delivered} of ${ROUNDS} rounds`);
  });
}

h.test("[websocket] a volatile emit on an idle connection is delivered", async () => {
  const io = h.startServer();
  io.on("connection", (s) => s.on("go", () => s.volatile.emit("v", 1)));
  const client = await h.connect(io);
  const got = h.once(client, "v");
  client.emit("go");
  assert.deepEqual(await got, [1]);
});

h.test("[polling] a volatile emit while a poll waits is delivered", async () => {
  const io = h.startServer();
  io.on("connection", (s) => s.on("go", () => setTimeout(() => s.volatile.emit("v", 1), 100)));
  const client = await h.connect(io, { mode: "polling" });
  const got = h.once(client, "v");
  client.emit("go");
  assert.deepEqual(await got, [1]);
});
