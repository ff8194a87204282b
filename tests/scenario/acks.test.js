"use strict";

// Acknowledgements both ways: client -> server acks, server -> client `ask` with and without
// the timeout expiring, broadcast acks (`ask-all`) complete and partial, and duplicate acks.

const assert = require("node:assert/strict");
const h = require("../harness");
const { test, MODES, sorted } = h;

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
  test(`[${mode}] client -> server ack carries every argument`, async () => {
    const socket = await h.connect(server, { mode });
    const args = ["a", 1, { x: [true, null, 2.5] }, [], "ünïcødé ✓"];
    assert.deepEqual(await h.emitWithAckArgs(socket, "echo", ...args), args);
    assert.deepEqual(await h.emitWithAckArgs(socket, "echo"), []);
  });

  test(`[${mode}] echo without an ack is emitted back as an event`, async () => {
    const socket = await h.connect(server, { mode });
    const back = h.once(socket, "echo");
    socket.emit("echo", "no", "ack");
    assert.deepEqual(await back, ["no", "ack"]);
  });

  test(`[${mode}] acks of interleaved requests reach their own callbacks`, async () => {
    const socket = await h.connect(server, { mode });
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => h.emitWithAckArgs(socket, "echo", i, `n${i}`)),
    );
    assert.deepEqual(
      results,
      Array.from({ length: 20 }, (_, i) => [i, `n${i}`]),
    );
  });

  test(`[${mode}] server -> client ask, answered in time`, async () => {
    const socket = await h.connect(server, { mode });
    socket.on("question", (a, b, ack) => ack(a + b, "done"));
    const answer = await h.emitWithAck(socket, "ask", { event: "question", args: [2, 3], timeout: 2000 });
    assert.deepEqual(answer, { err: null, res: [5, "done"] });
  });

  test(`[${mode}] server -> client ask without an answer: "operation has timed out"`, async () => {
    const socket = await h.connect(server, { mode });
    let pendingAck;
    socket.on("question", (ack) => {
      pendingAck = ack;
    });
    const answer = await h.emitWithAck(socket, "ask", { event: "question", timeout: 150 });
    assert.deepEqual(answer, { err: "operation has timed out", res: [] });
    // answering late is ignored and harms nothing
    assert.equal(typeof pendingAck, "function");
    pendingAck("too late");
    assert.deepEqual(await h.emitWithAckArgs(socket, "echo", "fine"), ["fine"]);
  });

  test(`[${mode}] ask-all collects one answer per client`, async () => {
    const [asker, ...members] = await h.connectMany(server, 4, { mode });
    const room = h.unique("ask");
    for (const m of members) {
      await h.emitWithAck(m, "join", room);
      m.on("poll", (q, ack) => ack({ id: m.id, q }));
    }
    const answer = await h.emitWithAck(asker, "ask-all", {
      rooms: room,
      event: "poll",
      args: ["q1"],
      timeout: 2000,
    });
    assert.equal(answer.err, null);
    assert.deepEqual(
      answer.res,
      sorted(members.map((m) => JSON.stringify({ id: m.id, q: "q1" }))).map((j) => JSON.parse(j)),
    );
  });

  test(`[${mode}] ask-all with a silent client: timeout error and the partial answers`, async () => {
    const [asker, a, b, silent] = await h.connectMany(server, 4, { mode });
    const room = h.unique("ask");
    for (const m of [a, b, silent]) await h.emitWithAck(m, "join", room);
    a.on("poll", (ack) => ack("from-a"));
    b.on("poll", (ack) => ack("from-b"));
    const heard = h.once(silent, "poll");
    const answer = await h.emitWithAck(asker, "ask-all", { rooms: room, event: "poll", timeout: 300 });
    await heard; // the silent client did get the question
    assert.deepEqual(answer, { err: "operation has timed out", res: ["from-a", "from-b"] });
  });

  test(`[${mode}] ask-all to an empty room answers at once with no responses`, async () => {
    const asker = await h.connect(server, { mode });
    const answer = await h.emitWithAck(asker, "ask-all", {
      rooms: h.unique("nobody"),
      event: "poll",
      timeout: 5000,
    });
    assert.deepEqual(answer, { err: null, res: [] });
  });

  test(`[${mode}] ask-all with except leaves the excluded clients out`, async () => {
    const [asker, a, b] = await h.connectMany(server, 3, { mode });
    const room = h.unique("ask");
    for (const m of [a, b]) await h.emitWithAck(m, "join", room);
    a.on("poll", (ack) => ack("a"));
    const w = h.watch([b], "poll");
    const answer = await h.emitWithAck(asker, "ask-all", { rooms: room, except: b.id, event: "poll", timeout: 2000 });
    assert.deepEqual(answer, { err: null, res: ["a"] });
    assert.deepEqual(await w.settle(asker), [[]]);
  });
}

test("[websocket] a second server-side ack call is not sent", async () => {
  const raw = await h.RawWebSocketClient.connect(server);
  raw.send('421["double-ack"]');
  raw.send('422["echo","after"]');
  // the server handles the two events in order: an extra ack for 1 would come before ack 2
  const first = await raw.next((m) => typeof m === "string" && m.startsWith("43"));
  assert.equal(first, '431["first"]');
  const second = await raw.next((m) => typeof m === "string" && m.startsWith("43"));
  assert.equal(second, '432["after"]');
  raw.close();
});

test("[websocket] a duplicate client ack does not reach the server's callback twice", async () => {
  const raw = await h.RawWebSocketClient.connect(server);
  raw.send('427["ask",{"event":"q","args":[7],"timeout":2000}]');
  const question = await raw.next((m) => /^42\d+\["q",7\]$/.test(m));
  const id = /^42(\d+)/.exec(question)[1];
  raw.send(`43${id}["one"]`);
  raw.send(`43${id}["two"]`);
  raw.send('428["echo","after"]');
  const answer = await raw.next((m) => m.startsWith("43"));
  assert.deepEqual(JSON.parse(answer.slice(3)), [{ err: null, res: ["one"] }]);
  assert.equal(answer.slice(0, 3), "437");
  const next = await raw.next((m) => m.startsWith("43"));
  assert.equal(next, '438["after"]');
  raw.close();
});

test("[websocket] an ack for an unknown id is ignored", async () => {
  const raw = await h.RawWebSocketClient.connect(server);
  raw.send('4399["nobody asked"]');
  raw.send('421["echo","still fine"]');
  assert.equal(await raw.next("43"), '431["still fine"]');
  raw.close();
});
