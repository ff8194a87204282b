"use strict";

// Binary payloads both ways: Buffers nested in objects and arrays, several attachments, empty
// and large buffers, in acks, events, broadcasts and server -> client acks; plus the wire
// format: base64 "b" packets over long-polling and binary frames over websocket.

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

function bytes(n, seed = 1) {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

/** Binary values arrive as Buffer in Node (or ArrayBuffer / typed arrays elsewhere): normalise. */
function normalise(value) {
  if (Buffer.isBuffer(value)) return { $bin: value.toString("hex") };
  if (value instanceof ArrayBuffer) return { $bin: Buffer.from(value).toString("hex") };
  if (ArrayBuffer.isView(value)) {
    return { $bin: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("hex") };
  }
  if (Array.isArray(value)) return value.map(normalise);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalise(v)]));
  }
  return value;
}

function payload() {
  return [
    {
      a: bytes(3),
      list: [bytes(5, 7), { b: bytes(2, 9), text: "t" }, 42],
      empty: Buffer.alloc(0),
      n: 1,
      s: "str",
      nested: { deeper: { buf: bytes(16, 3) } },
    },
    bytes(100 * 1024, 5),
    "plain",
  ];
}

for (const mode of MODES) {
  test(`[${mode}] binary round trip through an ack and an event`, async () => {
    const socket = await h.connect(server, { mode });
    const args = payload();
    const back = h.once(socket, "binary-back", 5000);
    const acked = await h.emitWithAckArgs(socket, "binary", ...args);
    assert.deepEqual(normalise(acked), normalise(args));
    assert.ok(Buffer.isBuffer(acked[1]) || acked[1] instanceof ArrayBuffer);
    assert.deepEqual(normalise(await back), normalise(args));
  });

  test(`[${mode}] a lone buffer, and a buffer as the only ack argument`, async () => {
    const socket = await h.connect(server, { mode });
    const acked = await h.emitWithAckArgs(socket, "binary", bytes(1));
    assert.deepEqual(normalise(acked), normalise([bytes(1)]));
  });

  test(`[${mode}] binary broadcast reaches room members`, async () => {
    const [sender, a, b] = await h.connectMany(server, 3, { mode });
    const room = h.unique("bin");
    await h.emitWithAck(a, "join", room);
    await h.emitWithAck(b, "join", room);
    const args = [{ img: bytes(1000), parts: [bytes(1, 2), bytes(2, 3)] }, bytes(10)];
    const got = [h.once(a, "blob"), h.once(b, "blob")];
    await h.emitWithAck(sender, "emit-to", { rooms: room, event: "blob", args });
    for (const received of await Promise.all(got)) {
      assert.deepEqual(normalise(received), normalise(args));
    }
  });

  test(`[${mode}] server -> client event with binary, answered with binary`, async () => {
    const socket = await h.connect(server, { mode });
    socket.on("bin-question", (value, ack) => {
      ack({ echoed: value, extra: bytes(4, 11) }, bytes(3, 12));
    });
    const answer = await h.emitWithAck(socket, "ask", {
      event: "bin-question",
      args: [{ data: bytes(8, 13) }],
      timeout: 3000,
    });
    assert.equal(answer.err, null);
    assert.deepEqual(normalise(answer.res), normalise([{ echoed: { data: bytes(8, 13) }, extra: bytes(4, 11) }, bytes(3, 12)]));
  });
}

test("[polling] binary travels as base64 \"b\" packets", async () => {
  const raw = await h.RawPollingClient.open(server);
  await raw.connect("/");
  // BINARY_EVENT with one attachment and ack id 0, then the attachment as a base64 packet
  await raw.post(['451-0["binary",{"_placeholder":true,"num":0},"x"]', "bAQID"]);
  const packets = await raw.pollUntil((p) => p.startsWith("451-"));

  const ackAt = packets.findIndex((p) => p.startsWith("461-0"));
  assert.notEqual(ackAt, -1, JSON.stringify(packets));
  assert.deepEqual(JSON.parse(packets[ackAt].slice(5)), [{ _placeholder: true, num: 0 }, "x"]);
  assert.equal(packets[ackAt + 1], "bAQID");

  const eventAt = packets.findIndex((p) => p.startsWith("451-"));
  assert.ok(eventAt > ackAt, "ack first, then binary-back");
  assert.deepEqual(JSON.parse(packets[eventAt].slice(4)), ["binary-back", { _placeholder: true, num: 0 }, "x"]);
  assert.equal(packets[eventAt + 1], "bAQID");
  await raw.close();
});

test("[websocket] binary travels as binary frames", async () => {
  const raw = await h.RawWebSocketClient.connect(server);
  raw.send('452-7["binary",{"_placeholder":true,"num":1},{"_placeholder":true,"num":0}]');
  raw.send(Buffer.from([9, 8]));
  raw.send(Buffer.from([1, 2, 3]));
  const ack = await raw.next("462-7");
  const placeholders = JSON.parse(ack.slice(5));
  // servers may renumber attachments (the reference numbers them in order of appearance):
  // what matters is that each placeholder resolves to the right buffer
  const attachments = [
    await raw.next((m) => Buffer.isBuffer(m)),
    await raw.next((m) => Buffer.isBuffer(m)),
  ];
  assert.equal(placeholders.length, 2);
  for (const p of placeholders) assert.equal(p._placeholder, true);
  const resolved = placeholders.map((p) => [...attachments[p.num]]);
  assert.deepEqual(resolved, [[1, 2, 3], [9, 8]]);
  raw.close();
});
