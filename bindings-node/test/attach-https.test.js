"use strict";

// An https.Server with `terminateTls: true`: the core terminates TLS on the connections it
// takes as Node accepts them. A Socket.IO WebSocket then runs in the core; every other
// request reaches Node's HTTP server as plaintext on a local socket that reads like the TLS
// socket (encrypted, peer address, protocol). Without the option, or with a TLS setting the
// core cannot honour, Node keeps its TLS and the WebSocket's bytes are piped.

const { after } = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const https = require("node:https");
const net = require("node:net");
const path = require("node:path");
const tls = require("node:tls");
const express = require("express");
const { Server } = require("roomcast");
const h = require("./helpers");
const { test } = h;

after(() => h.cleanup());

const fixtures = path.join(__dirname, "..", "..", "tests", "fixtures", "tls");
const key = fs.readFileSync(path.join(fixtures, "localhost-key.pem"));
const cert = fs.readFileSync(path.join(fixtures, "localhost-cert.pem"));

async function attached(opts = {}, serverOptions = {}, app = undefined) {
  const httpsServer = https.createServer({ key, cert, ...serverOptions }, app);
  const io = new Server(httpsServer, { terminateTls: true, ...opts });
  await new Promise((resolve) => httpsServer.listen(0, "127.0.0.1", resolve));
  const port = httpsServer.address().port;
  return { httpsServer, io, port, base: `https://localhost:${port}` };
}

const stats = (io) => io._native.stats();

/** A GET over TLS trusting the fixture; resolves with status, body and the response. */
function get(port, urlPath, { agent, method = "GET", body } = {}) {
  return h.within(
    new Promise((resolve, reject) => {
      const req = https.request({ host: "localhost", port, path: urlPath, method, ca: cert, agent }, (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString(), res }));
      });
      req.on("error", reject);
      req.end(body);
    }),
    `${method} ${urlPath}`,
  );
}

function app() {
  const a = express();
  a.get("/whoami", (req, res) =>
    res.json({
      secure: req.secure,
      ip: req.ip,
      encrypted: req.socket.encrypted,
      protocol: req.socket.getProtocol(),
      alpn: req.socket.alpnProtocol,
      servername: req.socket.servername,
      remotePort: req.socket.remotePort,
    }),
  );
  a.post("/length", (req, res) => {
    let n = 0;
    req.on("data", (c) => (n += c.length));
    req.on("end", () => res.json({ n }));
  });
  return a;
}

test("a wss:// WebSocket on an https.Server runs in the core (terminateTls)", async () => {
  const { httpsServer, io, base } = await attached();
  try {
    const seen = h.nextConnection(io);
    io.on("connection", (socket) => socket.on("double", (n, ack) => ack(n * 2)));
    const client = await h.connect(base, { ca: cert });
    const socket = await seen;
    assert.equal(socket.handshake.secure, true);
    assert.match(socket.handshake.address, /127\.0\.0\.1/);
    assert.equal(await client.timeout(2000).emitWithAck("double", 21), 42);
    const s = stats(io);
    assert.equal(s.takenOverWebSockets, 1);
    assert.equal(s.takenOverAtAccept, 1);
    assert.equal(s.tlsHandedBack, 0);
    const count = await new Promise((resolve, reject) => httpsServer.getConnections((e, n) => (e ? reject(e) : resolve(n))));
    assert.equal(count, 0);
  } finally {
    await io.close();
  }
});

test("polling then upgrade on an https.Server: polls through Node, the WebSocket in the core", async () => {
  const { io, base } = await attached();
  try {
    const seen = h.nextConnection(io);
    io.on("connection", (socket) => socket.on("double", (n, ack) => ack(n * 2)));
    const client = await h.connect(base, { mode: "upgrade", ca: cert });
    assert.equal((await seen).handshake.secure, true);
    if (client.io.engine.transport.name !== "websocket") await h.once(client.io.engine, "upgrade");
    assert.equal(await client.timeout(2000).emitWithAck("double", 4), 8);
    const s = stats(io);
    assert.equal(s.takenOverWebSockets, 1);
    assert.ok(s.tlsHandedBack >= 1, `the polls came back to Node (${s.tlsHandedBack})`);
  } finally {
    await io.close();
  }
});

test("a polling-only client on an https.Server", async () => {
  const { io, base } = await attached();
  try {
    io.on("connection", (socket) => socket.on("double", (n, ack) => ack(n * 2)));
    const client = await h.connect(base, { mode: "polling", ca: cert });
    for (let i = 0; i < 5; i++) assert.equal(await client.timeout(2000).emitWithAck("double", i), i * 2);
    assert.equal(stats(io).takenOverWebSockets, 0);
  } finally {
    await io.close();
  }
});

test("express routes on an https.Server see a TLS socket: req.secure, the client's address, keep-alive", async () => {
  const { io, port } = await attached({}, {}, app());
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const first = await get(port, "/whoami", { agent });
    assert.equal(first.status, 200);
    const who = JSON.parse(first.body);
    assert.equal(who.secure, true);
    assert.equal(who.encrypted, true);
    assert.match(who.ip, /127\.0\.0\.1/);
    assert.equal(who.protocol, "TLSv1.3");
    assert.equal(who.alpn, false, "Node's client asks for no ALPN protocol");
    assert.equal(who.servername, "localhost");
    assert.equal(typeof who.remotePort, "number");
    // Two more requests on the same connection: it was handed back once.
    for (let i = 0; i < 2; i++) assert.equal((await get(port, "/whoami", { agent })).status, 200);
    assert.equal(stats(io).tlsHandedBack, 1);
    // A body larger than the socket buffers streams through in both directions.
    const big = Buffer.alloc(3 * 1024 * 1024, 7);
    const posted = await get(port, "/length", { agent, method: "POST", body: big });
    assert.deepEqual(JSON.parse(posted.body), { n: big.length });
    assert.equal(stats(io).takenOverWebSockets, 0);
  } finally {
    agent.destroy();
    await io.close();
  }
});

test("a server with client certificates keeps Node's TLS; its WebSockets are piped and still work", async () => {
  const warnings = [];
  const onWarning = (w) => warnings.push(w);
  process.on("warning", onWarning);
  // A warning is emitted asynchronously; wait for it below.
  const { io, base } = await attached({}, { requestCert: true, rejectUnauthorized: false });
  try {
    io.on("connection", (socket) => socket.on("double", (n, ack) => ack(n * 2)));
    const seen = h.nextConnection(io);
    const client = await h.connect(base, { ca: cert });
    assert.equal((await seen).handshake.secure, true);
    assert.equal(await client.timeout(2000).emitWithAck("double", 2), 4);
    const s = stats(io);
    assert.equal(s.takenOverWebSockets, 0);
    assert.equal(s.tlsHandedBack, 0);
    await h.within(
      (async () => {
        while (!warnings.some((w) => /requestCert/.test(w.message))) await new Promise((r) => setImmediate(r));
      })(),
      "the warning",
    );
  } finally {
    process.off("warning", onWarning);
    await io.close();
  }
});

test("without terminateTls an https.Server keeps Node's TLS", async () => {
  const { io, base } = await attached({ terminateTls: false });
  try {
    io.on("connection", (socket) => socket.on("double", (n, ack) => ack(n * 2)));
    const client = await h.connect(base, { ca: cert });
    assert.equal(await client.timeout(2000).emitWithAck("double", 5), 10);
    assert.equal(stats(io).takenOverWebSockets, 0);
    assert.equal(stats(io).tlsHandedBack, 0);
  } finally {
    await io.close();
  }
});

test("terminateTls under takeOverAtAccept: \"auto\" steps aside while the app watches connections", async () => {
  const { httpsServer, io, base } = await attached();
  try {
    io.on("connection", (socket) => socket.on("double", (n, ack) => ack(n * 2)));
    const watched = [];
    const watch = (socket) => watched.push(socket);
    httpsServer.on("secureConnection", watch);
    const first = await h.connect(base, { ca: cert });
    assert.equal(await first.timeout(2000).emitWithAck("double", 1), 2);
    // The app saw the TLS socket of that connection, and Node kept its TLS.
    assert.equal(watched.length, 1);
    assert.ok(watched[0] instanceof tls.TLSSocket);
    assert.equal(stats(io).takenOverWebSockets, 0);
    httpsServer.off("secureConnection", watch);
    const second = await h.connect(base, { ca: cert });
    assert.equal(await second.timeout(2000).emitWithAck("double", 2), 4);
    assert.equal(stats(io).takenOverWebSockets, 1);
  } finally {
    await io.close();
  }
});

test("terminateTls with takeOverAtAccept: false keeps Node's TLS", async () => {
  const { io, base } = await attached({ takeOverAtAccept: false });
  try {
    io.on("connection", (socket) => socket.on("double", (n, ack) => ack(n * 2)));
    const client = await h.connect(base, { ca: cert });
    assert.equal(await client.timeout(2000).emitWithAck("double", 6), 12);
    assert.equal(stats(io).takenOverWebSockets, 0);
    assert.equal(stats(io).tlsHandedBack, 0);
  } finally {
    await io.close();
  }
});

test("plaintext sent to the TLS port, and a stalled handshake, harm nobody else", async () => {
  const { io, port, base } = await attached({}, { handshakeTimeout: 300 });
  try {
    io.on("connection", (socket) => socket.on("double", (n, ack) => ack(n * 2)));
    const closed = (sock) => new Promise((resolve) => sock.on("close", resolve).on("error", () => {}).resume());
    const plain = net.connect(port, "127.0.0.1", () => plain.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    const stalled = net.connect(port, "127.0.0.1", () => stalled.write(Buffer.from([0x16, 0x03, 0x01])));
    await h.within(Promise.all([closed(plain), closed(stalled)]), "both connections closed");
    const client = await h.connect(base, { ca: cert });
    assert.equal(await client.timeout(2000).emitWithAck("double", 3), 6);
  } finally {
    await io.close();
  }
});

test("a client that distrusts the certificate is refused and the server goes on", async () => {
  const { io, port, base } = await attached();
  try {
    const refused = await h.within(
      new Promise((resolve) => {
        const s = tls.connect({ host: "127.0.0.1", port, servername: "localhost" });
        s.on("error", (err) => resolve(err));
        s.on("secureConnect", () => resolve(null));
      }),
      "the handshake's end",
    );
    assert.ok(refused, "a client without the CA must not connect");
    const client = await h.connect(base, { ca: cert });
    assert.ok(client.connected);
  } finally {
    await io.close();
  }
});

test("io.close() ends an https.Server with idle handed-back connections", async () => {
  const { httpsServer, io, port } = await attached({}, {}, app());
  const agent = new https.Agent({ keepAlive: true });
  try {
    assert.equal((await get(port, "/whoami", { agent })).status, 200);
    const serverClosed = new Promise((resolve) => httpsServer.on("close", resolve));
    await h.within(io.close(), "io.close()");
    await h.within(serverClosed, "the https.Server's close");
  } finally {
    agent.destroy();
  }
});

test("the own listener serves https and wss with the tls option", async () => {
  const io = new Server({ tls: { key, cert } });
  try {
    io.listen(0);
    io.on("connection", (socket) => socket.on("double", (n, ack) => ack(n * 2)));
    const port = io.address().port;
    const base = `https://localhost:${port}`;
    for (const mode of ["websocket", "upgrade", "polling"]) {
      const seen = h.nextConnection(io);
      const client = await h.connect(base, { mode, ca: cert });
      assert.equal((await seen).handshake.secure, true);
      assert.equal(await client.timeout(2000).emitWithAck("double", 8), 16);
      client.disconnect();
    }
    assert.throws(() => new Server({ tls: { key: 1, cert } }), /option "tls"/);
  } finally {
    await io.close();
  }
});
