"use strict";

// Binary values both ways: Buffer, TypedArrays, DataView and ArrayBuffer become Buffers on the
// server and binary on the client, nested anywhere, in events, acks and broadcasts.

const { before, after } = require("node:test");
const assert = require("node:assert/strict");
const h = require("./helpers");
const { test } = h;

let io;
before(() => {
  io = h.startServer();
  io.on("connection", (socket) => {
    socket.on("inspect", (...args) => {
      const ack = args.pop();
      ack(args.map(describe));
    });
    socket.on("send-binaries", (ack) => {
      socket.emit(
        "binaries",
        Buffer.from([1, 2]),
        new Uint8Array([3, 4]),
        new Uint16Array([0x0605]),
        new Float32Array([1.5]).buffer,
        new DataView(new Uint8Array([7, 8, 9]).buffer, 1, 2),
        { nested: [Buffer.from("deep")] },
        "text",
      );
      ack("sent");
    });
    socket.on("echo", (...args) => {
      const ack = args.pop();
      ack(...args);
    });
  });
});
after(() => h.cleanup());

function describe(value) {
  if (Buffer.isBuffer(value)) return { buffer: [...value] };
  if (Array.isArray(value)) return value.map(describe);
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, describe(v)]));
  return value;
}

function bytes(value) {
  return [...new Uint8Array(value instanceof ArrayBuffer ? value : value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength))];
}

for (const mode of ["websocket", "polling"]) {
  test(`[${mode}] client binary arrives as Buffers, nested and in several attachments`, async () => {
    const client = await h.connect(io, { mode });
    const described = await client.timeout(2000).emitWithAck(
      "inspect",
      new Uint8Array([1, 2, 3]),
      { file: new Uint8Array([4]).buffer, list: ["a", new Uint8Array([5, 6])] },
      "plain",
    );
    assert.deepEqual(described, [{ buffer: [1, 2, 3] }, { file: { buffer: [4] }, list: ["a", { buffer: [5, 6] }] }, "plain"]);
  });

  test(`[${mode}] server Buffers, TypedArrays, DataView and ArrayBuffer arrive as binary`, async () => {
    const client = await h.connect(io, { mode });
    const got = h.once(client, "binaries");
    assert.equal(await client.timeout(2000).emitWithAck("send-binaries"), "sent");
    const [a, b, c, d, e, nested, text] = await got;
    assert.deepEqual(bytes(a), [1, 2]);
    assert.deepEqual(bytes(b), [3, 4]);
    assert.deepEqual(bytes(c), [5, 6]);
    assert.deepEqual(bytes(d), [...new Uint8Array(new Float32Array([1.5]).buffer)]);
    assert.deepEqual(bytes(e), [8, 9]);
    assert.deepEqual(bytes(nested.nested[0]), [...Buffer.from("deep")]);
    assert.equal(text, "text");
  });

  test(`[${mode}] binary in acks both ways and in broadcasts`, async () => {
    const client = await h.connect(io, { mode });
    const back = await client.timeout(2000).emitWithAck("echo", new Uint8Array([9, 8, 7]));
    assert.deepEqual(bytes(back), [9, 8, 7]);

    client.on("give", (ack) => ack(new Uint8Array([42]), { more: new Uint8Array([43]) }));
    const [socket] = [...io.sockets.sockets.values()].filter((s) => s.id === client.id);
    const answer = await h.within(new Promise((resolve) => socket.emit("give", (...args) => resolve(args))), "ack");
    assert.ok(Buffer.isBuffer(answer[0]));
    assert.deepEqual([...answer[0]], [42]);
    assert.deepEqual([...answer[1].more], [43]);

    const broadcast = h.once(client, "blob");
    io.to(client.id).emit("blob", Buffer.from([1, 1, 2, 3, 5]));
    assert.deepEqual(bytes((await broadcast)[0]), [1, 1, 2, 3, 5]);
  });
}
