"use strict";

// Bursts: 2000 server -> client events to one client arrive complete and in order; 2000
// client -> server events are all handled, in order.

const assert = require("node:assert/strict");
const h = require("../harness");
const { test, MODES } = h;

const COUNT = 2000;

let server;
h.before(async () => {
  server = await h.startServer();
});
h.afterEach(() => h.closeAllClients());
h.after(async () => {
  h.closeAllClients();
  if (server) await server.stop();
});

function assertSequence(received, count) {
  assert.equal(received.length, count);
  for (let i = 0; i < count; i++) {
    if (received[i].length !== 1 || received[i][0] !== i) {
      assert.fail(`item ${i} is ${JSON.stringify(received[i])}`);
    }
  }
}

for (const mode of MODES) {
  test(`[${mode}] ${COUNT} server -> client events arrive complete and in order`, async () => {
    const socket = await h.connect(server, { mode });
    const items = h.collector(socket, "item");
    const acked = await h.emitWithAck(socket, "burst", { count: COUNT, event: "item" });
    assert.equal(acked, COUNT);
    // the ack was sent after the last item, on the same connection
    assertSequence(items.all, COUNT);
    items.stop();
  });

  test(`[${mode}] ${COUNT} client -> server events are all handled, in order`, async () => {
    const socket = await h.connect(server, { mode });
    const echoes = h.collector(socket, "echo");
    for (let i = 0; i < COUNT; i++) socket.emit("echo", i);
    const received = await echoes.wait(COUNT, 10000);
    echoes.stop();
    assertSequence(received, COUNT);
    assert.equal(await h.emitWithAck(socket, "outgoing-count"), COUNT);
  });

  test(`[${mode}] a burst to one client leaves the others untouched`, async () => {
    const [target, bystander] = await h.connectMany(server, 2, { mode });
    const w = h.watch([bystander], "item");
    const items = h.collector(target, "item");
    assert.equal(await h.emitWithAck(target, "burst", { count: 500, event: "item" }), 500);
    assertSequence(items.all, 500);
    items.stop();
    assert.deepEqual(await w.settle(target), [[]]);
  });
}
