"use strict";

// socket.conn is an EventEmitter shared by the sockets of a connection (upgrading, upgrade,
// close, packet, packetCreate, drain; transport, readyState, protocol, request); socket.client has conn, request and
// sockets; a malformed packet emits `error` on the socket before the connection closes.

const assert = require("node:assert/strict");
const { after } = require("node:test");
const h = require("./helpers");

after(() => h.cleanup());

h.test("upgrade listeners added in the connection handler hear the upgrade", { timeout: 30000 }, async () => {
  const io = h.startServer();
  const events = [];
  io.on("connection", (socket) => {
    assert.equal(socket.conn, socket.conn, "one object per connection");
    assert.equal(socket.conn.readyState, "open");
    assert.equal(socket.conn.protocol, 4);
    assert.equal(typeof socket.conn.request.headers, "object");
    events.push(`connection:${socket.conn.transport.name}`);
    socket.conn.on("upgrading", () => events.push("upgrading"));
    socket.conn.on("upgrade", (t) => {
      events.push(`upgrade:${t.name}`);
      socket.emit("upgraded", socket.conn.transport.name);
    });
  });
  const client = h.client(io, { transports: ["polling", "websocket"] });
  const [name] = await h.once(client, "upgraded", 5000);
  assert.equal(name, "websocket");
  // The client may start its probe before the connection handler runs: `upgrading` is then
  // over before anyone listens.
  const expected = events.includes("upgrading")
    ? ["connection:polling", "upgrading", "upgrade:websocket"]
    : ["connection:polling", "upgrade:websocket"];
  assert.deepEqual(events, expected);
});

h.test("socket.client: conn, request, and the connection's sockets in every namespace", async () => {
  const io = h.startServer();
  const sockets = {};
  const both = new Promise((resolve) => {
    const seen = (name) => (s) => {
      sockets[name] = s;
      if (sockets["/"] && sockets["/chat"]) resolve();
    };
    io.on("connection", seen("/"));
    io.of("/chat").on("connection", seen("/chat"));
  });
  const main = await h.connect(io);
  const chat = main.io.socket("/chat");
  chat.connect();
  await h.within(both, "both namespaces");
  const root = sockets["/"];
  assert.equal(root.client.conn, root.conn);
  assert.equal(root.client.conn, sockets["/chat"].conn, "one conn for the connection");
  assert.equal(typeof root.client.request.headers, "object");
  assert.deepEqual([...root.client.sockets.keys()].sort(), [sockets["/"].id, sockets["/chat"].id].sort());
  chat.disconnect();
});

h.test("socket.conn emits close when the client closes, after its socket left the namespace", async () => {
  const io = h.startServer();
  const connection = h.nextConnection(io);
  const client = await h.connect(io);
  const socket = await connection;
  const closed = h.once(socket.conn, "close");
  client.close();
  assert.deepEqual(await closed, ["transport close"]);
  assert.equal(socket.conn.readyState, "closed");
});

for (const [what, raw, message] of [
  ["bad attachments", "5woooot", /Illegal attachments/],
  ["an empty binary packet", "5", /Illegal attachments/],
  ["an invalid payload", '2["a",', /./],
  ["a CONNECT_ERROR from the client", '44["handle me please"]', /./],
]) {
  h.test(`a malformed packet (${what}) emits error on the socket, then the connection closes`, async () => {
    const io = h.startServer();
    const connection = h.nextConnection(io);
    const client = await h.connect(io);
    const socket = await connection;
    const errored = h.once(socket, "error");
    const gone = h.once(socket, "disconnect");
    client.io.engine.write(raw);
    const [err] = await errored;
    assert.ok(err instanceof Error);
    assert.match(err.message, message);
    await gone;
  });
}

h.test("without an error listener a malformed packet closes the connection quietly", async () => {
  const io = h.startServer();
  const connection = h.nextConnection(io);
  const client = await h.connect(io);
  const socket = await connection;
  const gone = h.once(socket, "disconnect");
  client.io.engine.write("5woooot");
  await gone;
});

h.test("a middleware's conn close listener hears a client that went away during it", async () => {
  const io = h.startServer();
  let entered;
  const inMiddleware = new Promise((resolve) => (entered = resolve));
  const closed = new Promise((resolve) => {
    io.use((socket, next) => {
      socket.client.conn.on("close", (reason) => {
        resolve(reason);
        next();
      });
      entered();
    });
  });
  const client = h.client(io);
  await h.within(inMiddleware, "the middleware");
  // The client leaves while the middleware holds its CONNECT.
  client.io.engine.close();
  assert.equal(await h.within(closed, "close in the middleware"), "transport close");
});

for (const mode of ["websocket", "polling"]) {
  h.test(`[${mode}] socket.conn reports each Engine.IO packet received (packet), sent (packetCreate) and drain`, async () => {
    const io = h.startServer();
    const seen = { packet: [], packetCreate: [], drain: 0 };
    const gotBinary = new Promise((resolve) => {
      io.on("connection", (socket) => {
        socket.conn.on("packet", (p) => {
          seen.packet.push(p);
          if (Buffer.isBuffer(p.data)) resolve();
        });
        socket.conn.on("packetCreate", (p) => seen.packetCreate.push(p));
        socket.conn.on("drain", () => (seen.drain += 1));
        socket.on("hello", (text, fn) => fn(text.toUpperCase()));
        socket.emit("woot", "hi");
      });
    });
    const client = h.client(io, { transports: [mode] });
    const [woot] = await h.once(client, "woot");
    assert.equal(woot, "hi");
    assert.equal(await h.within(client.emitWithAck("hello", "abc"), "ack"), "ABC");
    client.emit("bin", Buffer.from([1, 2, 3]));
    await h.within(gotBinary, "the binary attachment as a packet");

    assert.deepEqual(seen.packetCreate[0], { type: "message", data: '2["woot","hi"]', options: { compress: true } });
    assert.ok(
      seen.packetCreate.some((p) => p.type === "message" && p.data === '30["ABC"]'),
      `the ack was created: ${JSON.stringify(seen.packetCreate)}`,
    );
    assert.ok(seen.drain >= 1, "the transport drained");
    assert.deepEqual(seen.packet[0], { type: "message", data: '20["hello","abc"]' });
    assert.deepEqual(seen.packet[1], { type: "message", data: '51-["bin",{"_placeholder":true,"num":0}]' });
    assert.deepEqual(seen.packet[2], { type: "message", data: Buffer.from([1, 2, 3]) });
  });
}

h.test("packetCreate reports compress(false), from the socket and from a broadcast", async () => {
  const io = h.startServer();
  const created = [];
  const three = new Promise((resolve) => {
    io.on("connection", (socket) => {
      socket.conn.on("packetCreate", (p) => {
        created.push(p);
        if (created.length === 3) resolve();
      });
      socket.compress(false).emit("a");
      io.compress(false).emit("b");
      socket.emit("c");
    });
  });
  const client = h.client(io);
  await h.once(client, "c");
  await h.within(three, "three packets created");
  assert.deepEqual(
    created.map((p) => [p.data, p.options.compress]),
    [
      ['2["a"]', false],
      ['2["b"]', false],
      ['2["c"]', true],
    ],
  );
});

h.test("compress(false) applies to an emit that asks for an acknowledgement", async () => {
  const io = h.startServer();
  const created = [];
  const answers = new Promise((resolve, reject) => {
    io.on("connection", async (socket) => {
      socket.conn.on("packetCreate", (p) => created.push(p));
      try {
        const first = await socket.compress(false).timeout(5000).emitWithAck("q", 1);
        socket.compress(false).emit("r", 2, (answer) => resolve([first, answer]));
      } catch (err) {
        reject(err);
      }
    });
  });
  const client = h.client(io);
  client.on("q", (n, ack) => ack(n + 10));
  client.on("r", (n, ack) => ack(n + 20));
  assert.deepEqual(await h.within(answers, "both answers"), [11, 22]);
  assert.deepEqual(
    created.filter((p) => /^2\d+\["[qr]"/.test(p.data)).map((p) => [p.data, p.options.compress]),
    [
      ['20["q",1]', false],
      ['21["r",2]', false],
    ],
  );
});
