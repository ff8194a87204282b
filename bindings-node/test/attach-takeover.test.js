"use strict";

// WebSocket upgrades of an attached http.Server / express app are taken over by the core
// (it duplicates the socket's descriptor and runs the connection natively). Every behaviour of
// the piped path must hold, and io._native.stats().takenOverWebSockets proves which path ran.

const { after } = require("node:test");
const assert = require("node:assert/strict");
const http = require("node:http");
const net = require("node:net");
const crypto = require("node:crypto");
const express = require("express");
const WebSocket = require("ws");
const { Server } = require("roomcast");
const h = require("./helpers");
const { test } = h;

after(() => h.cleanup());

async function attached(opts = {}, app = undefined) {
  const httpServer = http.createServer(app);
  const io = new Server(httpServer, opts);
  await new Promise((resolve) => httpServer.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${httpServer.address().port}`;
  return { httpServer, io, base, port: httpServer.address().port };
}

const takenOver = (io) => io._native.stats().takenOverWebSockets;
const takenOverAtAccept = (io) => io._native.stats().takenOverAtAccept;

function connections(httpServer) {
  return new Promise((resolve, reject) => httpServer.getConnections((err, n) => (err ? reject(err) : resolve(n))));
}

function maskedText(text) {
  const payload = Buffer.from(text);
  const mask = crypto.randomBytes(4);
  const frame = Buffer.alloc(6 + payload.length);
  frame[0] = 0x81;
  frame[1] = 0x80 | payload.length;
  mask.copy(frame, 2);
  for (let i = 0; i < payload.length; i++) frame[6 + i] = payload[i] ^ mask[i % 4];
  return frame;
}

// Each WebSocket below is taken over either after Node parsed its upgrade request (the
// `upgrade` event) or as the listening socket accepts it (the default while nobody else
// listens to `connection`): both paths must behave the same.
for (const [where, takeOverAtAccept] of [["after the upgrade event", false], ["at accept", "auto"]]) {
  test(`a WebSocket on an attached http.Server runs natively: acks, handshake, Node lets go of the socket (${where})`, async () => {
    const { httpServer, io, base } = await attached({ takeOverAtAccept });
    try {
      const seen = h.nextConnection(io);
      io.on("connection", (socket) => socket.on("double", (n, ack) => ack(n * 2)));
      const client = await h.connect(base, { extraHeaders: { "x-app": "takeover" } });
      const socket = await seen;
      assert.equal(socket.handshake.headers["x-app"], "takeover");
      assert.match(socket.handshake.address, /127\.0\.0\.1/);
      assert.equal(await client.timeout(2000).emitWithAck("double", 21), 42);
      assert.equal(takenOver(io), 1);
      assert.equal(takenOverAtAccept(io), takeOverAtAccept === false ? 0 : 1);
      // Node closed its own descriptor: the connection lives on in the core only.
      assert.equal(await connections(httpServer), 0);
    } finally {
      await io.close();
    }
  });

  test(`polling → WebSocket upgrade on an attached http.Server: the WebSocket is taken over (${where})`, async () => {
    const { io, base } = await attached({ takeOverAtAccept });
    try {
      io.on("connection", (socket) => socket.on("double", (n, ack) => ack(n * 2)));
      const client = await h.connect(base, { mode: "upgrade" });
      if (client.io.engine.transport.name !== "websocket") await h.once(client.io.engine, "upgrade");
      assert.equal(await client.timeout(2000).emitWithAck("double", 4), 8);
      assert.equal(takenOver(io), 1);
    } finally {
      await io.close();
    }
  });

  test(`an express app: websocket and upgrade clients are taken over, routes still answer (${where})`, async () => {
    const app = express();
    app.get("/hello", (req, res) => res.json({ ok: true }));
    const { io, base } = await attached({ takeOverAtAccept }, app);
    try {
      io.on("connection", (socket) => socket.on("double", (n, ack) => ack(n * 2)));
      for (const mode of ["websocket", "upgrade"]) {
        const client = await h.connect(base, { mode });
        if (client.io.engine.transport.name !== "websocket") await h.once(client.io.engine, "upgrade");
        assert.equal(await client.timeout(2000).emitWithAck("double", 1), 2);
        client.disconnect();
      }
      assert.equal((await fetch(`${base}/hello`)).status, 200);
      assert.equal(takenOver(io), 2);
    } finally {
      await io.close();
    }
  });

  test(`taken over: the client's close and the server's disconnect reach the other side (${where})`, async () => {
    const { io, base } = await attached({ takeOverAtAccept });
    try {
      let seen = h.nextConnection(io);
      let client = await h.connect(base);
      let socket = await seen;
      const serverSide = h.once(socket, "disconnect");
      client.disconnect();
      assert.equal((await serverSide)[0], "client namespace disconnect");

      seen = h.nextConnection(io);
      client = await h.connect(base);
      socket = await seen;
      const clientSide = h.once(client, "disconnect");
      socket.disconnect(true);
      assert.equal((await clientSide)[0], "io server disconnect");
      assert.equal(takenOver(io), 2);
    } finally {
      await io.close();
    }
  });

  test(`io.close() ends taken-over connections and closes the http.Server (${where})`, async () => {
    const { httpServer, io, base } = await attached({ takeOverAtAccept });
    const clients = await Promise.all([1, 2, 3].map(() => h.connect(base)));
    const gone = clients.map((c) => h.once(c, "disconnect"));
    assert.equal(takenOver(io), 3);
    await h.within(io.close(), "io.close()", 5000);
    for (const reason of await Promise.all(gone)) assert.equal(reason[0], "transport close");
    assert.equal(httpServer.listening, false);
  });

  test(`200 taken-over clients all get a broadcast (${where})`, async () => {
    const N = 200;
    const { io, base } = await attached({ takeOverAtAccept });
    try {
      io.on("connection", (socket) => socket.join("all"));
      const clients = await Promise.all(Array.from({ length: N }, () => h.connect(base)));
      await h.within(
        (async () => {
          while (io.of("/").adapter.rooms.get("all")?.size !== N) await new Promise((r) => setImmediate(r));
        })(),
        "every socket in the room",
        5000,
      );
      const got = clients.map((c) => h.once(c, "news", 5000));
      io.to("all").emit("news", { n: 1 });
      for (const args of await Promise.all(got)) assert.deepEqual(args, [{ n: 1 }]);
      assert.equal(takenOver(io), N);
    } finally {
      await io.close();
    }
  });

  test(`allowRequest refuses a taken-over WebSocket with the handshake's error (${where})`, async () => {
    const { io, base } = await attached({ takeOverAtAccept, allowRequest: (req, cb) => cb(null, req.headers["x-ok"] === "1") });
    try {
      await h.connect(base, { extraHeaders: { "x-ok": "1" } });
      const refused = h.client(base, { extraHeaders: { "x-ok": "0" } });
      const [err] = await h.once(refused, "connect_error");
      assert.ok(err instanceof Error);
      assert.equal(takenOver(io), 2);
    } finally {
      await io.close();
    }
  });

  test(`perMessageDeflate is negotiated on a taken-over WebSocket (${where})`, async () => {
    const { io, port } = await attached({ takeOverAtAccept, perMessageDeflate: { threshold: 0 } });
    try {
      io.on("connection", (socket) => socket.on("echo", (v, ack) => ack(v)));
      const ws = new WebSocket(`ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`, { perMessageDeflate: true });
      const messages = [];
      const waiters = [];
      ws.on("message", (m) => (waiters.length ? waiters.shift()(String(m)) : messages.push(String(m))));
      const next = () =>
        h.within(new Promise((resolve) => (messages.length ? resolve(messages.shift()) : waiters.push(resolve))), "a message");
      await h.once(ws, "open");
      assert.match(ws.extensions, /permessage-deflate/);
      assert.match(await next(), /^0\{/);
      ws.send("40");
      assert.match(await next(), /^40\{"sid"/);
      ws.send(`421["echo","${"x".repeat(2000)}"]`);
      assert.equal(await next(), `431["${"x".repeat(2000)}"]`);
      ws.close();
      assert.equal(takenOver(io), 1);
    } finally {
      await io.close();
    }
  });


  test(`a frame sent with the upgrade request (Node's \`head\`) reaches the core first (${where})`, async () => {
    const { io, port } = await attached({ takeOverAtAccept });
    try {
      const raw = net.connect(port, "127.0.0.1");
      await h.once(raw, "connect");
      let received = "";
      raw.on("data", (d) => (received += d.toString("latin1")));
      const key = crypto.randomBytes(16).toString("base64");
      const request =
        "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n" +
        `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`;
      raw.write(Buffer.concat([Buffer.from(request), maskedText("40")]));
      await h.within(
        new Promise((resolve) => {
          const check = () => (/40\{"sid":"/.test(received) ? resolve() : raw.once("data", check));
          check();
        }),
        "the CONNECT reply",
      );
      assert.match(received, /^HTTP\/1\.1 101 /);
      assert.equal(takenOver(io), 1);
      raw.destroy();
    } finally {
      await io.close();
    }
  });
}

// A raw client in a worker thread: it connects and sends `first` while this thread's event
// loop is held, so Node accepts the connection only once those bytes are queued on it
// (deterministically, whatever the scheduling). `rest(bytes)` sends more; `until(re)` waits
// for the bytes received so far to match.
const QUEUED_CLIENT = `
const { parentPort, workerData } = require("node:worker_threads");
const net = require("node:net");
const flag = new Int32Array(workerData.sab);
const sock = net.connect(workerData.port, "127.0.0.1", () => {
  sock.write(Buffer.from(workerData.first), () => { Atomics.store(flag, 0, 1); Atomics.notify(flag, 0); });
});
sock.on("data", (d) => parentPort.postMessage(d.toString("latin1")));
sock.on("error", () => {});
parentPort.on("message", (m) => (m === null ? sock.destroy() : sock.write(Buffer.from(m))));
`;

function queuedClient(port, first) {
  const { Worker } = require("node:worker_threads");
  const sab = new SharedArrayBuffer(4);
  const worker = new Worker(QUEUED_CLIENT, { eval: true, workerData: { port, first, sab } });
  // Holds this thread (and Node's accept) until the worker's bytes are in the kernel.
  assert.notEqual(Atomics.wait(new Int32Array(sab), 0, 0, 10000), "timed-out", "the worker sent its bytes");
  let received = "";
  const waiters = [];
  worker.on("message", (text) => {
    received += text;
    for (const w of waiters.splice(0)) w();
  });
  return {
    rest: (bytes) => worker.postMessage(bytes),
    received: () => received,
    until: (re, what) =>
      h.within(
        new Promise((resolve) => {
          const check = () => (re.test(received) ? resolve(received) : waiters.push(check));
          check();
        }),
        what,
      ),
    close: () => {
      worker.postMessage(null);
      return worker.terminate();
    },
  };
}

function upgradeRequest(path) {
  const key = crypto.randomBytes(16).toString("base64");
  return (
    `GET ${path} HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n` +
    `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`
  );
}


test("a WebSocket upgrade already queued when Node accepts is taken over then: no connection or upgrade event", async () => {
  const { httpServer, io, port } = await attached({ takeOverAtAccept: true });
  const upgrades = [];
  let nodeConnections = 0;
  httpServer.on("upgrade", (req) => upgrades.push(req.url));
  httpServer.on("connection", () => nodeConnections++);
  const client = queuedClient(port, Buffer.concat([Buffer.from(upgradeRequest("/socket.io/?EIO=4&transport=websocket")), maskedText("40")]));
  try {
    const received = await client.until(/40\{"sid":"/, "the CONNECT reply");
    assert.match(received, /^HTTP\/1\.1 101 /);
    assert.deepEqual(upgrades, [], "Node never parsed the request");
    assert.equal(nodeConnections, 0, "Node never made a net.Socket of it");
    assert.equal(takenOver(io), 1);
    assert.equal(takenOverAtAccept(io), 1);
    assert.equal(await connections(httpServer), 0);
  } finally {
    await client.close();
    await io.close();
  }
});

test("an http.Server attached before listen(), closed and listening again: its new listening socket is watched too", async () => {
  const httpServer = http.createServer();
  const io = new Server(httpServer, { takeOverAtAccept: true });
  const clients = [];
  try {
    for (let round = 0; round < 2; round++) {
      await new Promise((resolve) => httpServer.listen(0, "127.0.0.1", resolve));
      const { port } = httpServer.address();
      const client = queuedClient(port, Buffer.concat([Buffer.from(upgradeRequest("/socket.io/?EIO=4&transport=websocket")), maskedText("40")]));
      clients.push(client);
      await client.until(/40\{"sid":"/, "the CONNECT reply");
      assert.equal(takenOverAtAccept(io), round + 1);
      if (round === 0) await new Promise((resolve) => httpServer.close(resolve));
    }
  } finally {
    for (const c of clients) await c.close();
    await io.close();
  }
});

test("a request head still incomplete when Node accepts goes through Node's upgrade event, with its `head`", async () => {
  const { httpServer, io, port } = await attached({ takeOverAtAccept: true });
  const request = upgradeRequest("/socket.io/?EIO=4&transport=websocket");
  const upgrades = [];
  httpServer.on("upgrade", (req) => upgrades.push(req.url));
  const accepted = h.once(httpServer, "connection");
  const client = queuedClient(port, request.slice(0, 40));
  try {
    await accepted;
    client.rest(Buffer.concat([Buffer.from(request.slice(40)), maskedText("40")]));
    const received = await client.until(/40\{"sid":"/, "the CONNECT reply");
    assert.match(received, /^HTTP\/1\.1 101 /);
    assert.equal(takenOver(io), 1);
    assert.equal(takenOverAtAccept(io), 0);
    assert.deepEqual(upgrades, ["/socket.io/?EIO=4&transport=websocket"]);
  } finally {
    await client.close();
    await io.close();
  }
});

test("an upgrade of another path queued when Node accepts stays with Node's upgrade listeners", async () => {
  const { httpServer, io, port } = await attached({ destroyUpgrade: false, takeOverAtAccept: true });
  httpServer.on("upgrade", (req, socket) => {
    if (req.url === "/other") socket.end("HTTP/1.1 418 I'm a teapot\r\nContent-Length: 0\r\n\r\n");
  });
  const client = queuedClient(port, upgradeRequest("/other"));
  try {
    assert.match(await client.until(/\r\n\r\n/, "the app's answer"), /^HTTP\/1\.1 418 /);
    assert.equal(takenOver(io), 0);
  } finally {
    await client.close();
    await io.close();
  }
});

test("by default a `connection` listener on the http.Server sees every connection; without one they are taken at accept", async () => {
  const { httpServer, io, base } = await attached();
  try {
    const seen = [];
    const track = (socket) => seen.push(socket.remotePort);
    httpServer.on("connection", track);
    const tracked = await h.connect(base, { mode: "websocket" });
    assert.equal(seen.length, 1, "the app's listener saw the WebSocket's connection");
    assert.equal(takenOver(io), 1, "taken over after Node's upgrade event instead");
    assert.equal(takenOverAtAccept(io), 0);
    assert.equal(tracked.connected, true);

    httpServer.off("connection", track);
    await h.connect(base, { mode: "websocket" });
    assert.equal(seen.length, 1);
    assert.equal(takenOver(io), 2);
    assert.equal(takenOverAtAccept(io), 1);
  } finally {
    await io.close();
  }
});

test("takeOverAtAccept: only true, false or \"auto\"", () => {
  assert.throws(() => new Server(http.createServer(), { takeOverAtAccept: "yes" }), /takeOverAtAccept/);
});

test("takeOverWebSockets: false pipes the WebSocket through Node as before", async () => {
  const { httpServer, io, base } = await attached({ takeOverWebSockets: false });
  try {
    io.on("connection", (socket) => socket.on("double", (n, ack) => ack(n * 2)));
    const client = await h.connect(base);
    assert.equal(await client.timeout(2000).emitWithAck("double", 5), 10);
    assert.equal(takenOver(io), 0);
    assert.equal(await connections(httpServer), 1);
  } finally {
    await io.close();
  }
});

/** A throwaway self-signed certificate, made with the openssl command line (null without it). */
function selfSigned() {
  const { spawnSync } = require("node:child_process");
  const fs = require("node:fs");
  const os = require("node:os");
  const path = require("node:path");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "roomcast-tls-"));
  try {
    const made = spawnSync(
      "openssl",
      ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
        "-keyout", path.join(dir, "key.pem"), "-out", path.join(dir, "cert.pem")],
      { stdio: "ignore" },
    );
    if (made.error || made.status !== 0) return null;
    return { key: fs.readFileSync(path.join(dir, "key.pem")), cert: fs.readFileSync(path.join(dir, "cert.pem")) };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test("an https.Server without terminateTls keeps its WebSockets in Node (its TLS session cannot move) and still serves them", async (t) => {
  const tls = selfSigned();
  if (!tls) return t.skip("no openssl command to make a certificate");
  const https = require("node:https");
  const httpsServer = https.createServer(tls);
  const io = new Server(httpsServer);
  await new Promise((resolve) => httpsServer.listen(0, "127.0.0.1", resolve));
  try {
    io.on("connection", (socket) => socket.on("double", (n, ack) => ack(n * 2)));
    const base = `https://127.0.0.1:${httpsServer.address().port}`;
    for (const mode of ["websocket", "upgrade"]) {
      const client = await h.connect(base, { mode, rejectUnauthorized: false });
      if (client.io.engine.transport.name !== "websocket") await h.once(client.io.engine, "upgrade");
      assert.equal(await client.timeout(2000).emitWithAck("double", 3), 6);
      client.disconnect();
    }
    assert.equal(takenOver(io), 0);
  } finally {
    await io.close();
  }
});
