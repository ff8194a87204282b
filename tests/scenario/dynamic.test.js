"use strict";

// Dynamic namespaces: by regular expression (/^\/dyn-\d+$/) and by an asynchronous predicate
// (names starting with /pred-); `observed-namespace` reports each child once.

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

let counter = 0;
function dynName() {
  counter += 1;
  return `/dyn-${process.pid}${counter}`;
}
function predName() {
  counter += 1;
  return `/pred-${process.pid}-${counter}`;
}

/** Connects to a dynamic namespace and resolves with [socket, the greeting's arguments]. */
async function connectChild(mode, nsp, greeting) {
  const socket = h.createClient(server, { mode, nsp });
  const greeted = h.once(socket, greeting);
  await h.waitConnected(socket, mode);
  return [socket, await greeted];
}

for (const mode of MODES) {
  test(`[${mode}] a namespace matching the regex is created on first use, once`, async () => {
    const obs = await h.observer(server);
    const nsp = dynName();
    const w = h.watch([obs], "observed-namespace");

    const [a, greetingA] = await connectChild(mode, nsp, "dyn");
    assert.deepEqual(greetingA, [nsp]);
    assert.equal(a.id.length, 20);
    const [b, greetingB] = await connectChild(mode, nsp, "dyn");
    assert.deepEqual(greetingB, [nsp]);

    // reported once, for the first connection only
    assert.deepEqual(await w.settle(obs), [[[nsp]]]);

    // both sockets are in the same namespace
    const both = h.watch([a, b], "child-news");
    assert.equal(await h.emitWithAck(obs, "emit-to", { nsp, event: "child-news", args: [1] }), true);
    assert.deepEqual(await both.settle(obs), [[[1]], [[1]]]);

    // the child registers echo
    assert.deepEqual(await h.emitWithAckArgs(a, "echo", "dyn", 2), ["dyn", 2]);
  });

  test(`[${mode}] a namespace accepted by the predicate is created on first use, once`, async () => {
    const obs = await h.observer(server);
    const nsp = predName();
    const w = h.watch([obs], "observed-namespace");

    const [a, greetingA] = await connectChild(mode, nsp, "pred");
    assert.deepEqual(greetingA, [nsp]);
    const [b, greetingB] = await connectChild(mode, nsp, "pred");
    assert.deepEqual(greetingB, [nsp]);
    assert.notEqual(a.id, b.id);

    assert.deepEqual(await w.settle(obs), [[[nsp]]]);
  });

  test(`[${mode}] children persist after their last socket leaves`, async () => {
    const obs = await h.observer(server);
    const nsp = dynName();
    const [first] = await connectChild(mode, nsp, "dyn");
    const gone = h.observed(obs, "disconnect", first.id);
    first.disconnect();
    const report = await gone;
    assert.equal(report.nsp, nsp);
    assert.equal(report.reason, "client namespace disconnect");

    const w = h.watch([obs], "observed-namespace");
    const [again, greeting] = await connectChild(mode, nsp, "dyn");
    assert.deepEqual(greeting, [nsp]);
    assert.equal(again.connected, true);
    assert.deepEqual(await w.settle(obs), [[]]);
  });

  test(`[${mode}] names matching neither the regex nor the predicate are invalid`, async () => {
    for (const nsp of ["/dyn-", "/dyn-12a", "/xdyn-1", "/pred", "/Pred-x", `/dyn-${process.pid}/x`]) {
      const socket = h.createClient(server, { mode, nsp });
      const [err] = await h.once(socket, "connect_error", 3000, { rejectOn: ["connect"] });
      assert.equal(err.message, "Invalid namespace", nsp);
    }
  });

  test(`[${mode}] one connection can use several children`, async () => {
    const m = h.managerFor(server, { mode });
    const d = dynName();
    const p = predName();
    const dynSocket = m.socket(d);
    const predSocket = m.socket(p);
    const greetings = [h.once(dynSocket, "dyn"), h.once(predSocket, "pred")];
    await Promise.all([h.waitConnected(dynSocket, mode), h.waitConnected(predSocket, mode)]);
    assert.deepEqual(await Promise.all(greetings), [[d], [p]]);
    assert.notEqual(dynSocket.id, predSocket.id);
  });
}
