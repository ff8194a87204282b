"use strict";

// The Server: its constructor forms, options with socket.io's names, io.sockets, io.close().

const { afterEach } = require("node:test");
const assert = require("node:assert/strict");
const http = require("node:http");
const { Server } = require("roomcast");
const h = require("./helpers");
const { test } = h;

afterEach(() => h.cleanup());

function get(url) {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      })
      .on("error", reject);
  });
}

function handshake(io, query = "") {
  return get(`${h.urlOf(io)}${io.path()}/?EIO=4&transport=polling${query}`).then((res) => {
    assert.equal(res.status, 200, res.body);
    return JSON.parse(res.body.slice(1));
  });
}

test("new Server(port): its own listener; address() reports the port", async () => {
  const io = h.startServer();
  const { port, family } = io.address();
  assert.ok(port > 0);
  assert.ok(family === "IPv6" || family === "IPv4");
  const connection = h.nextConnection(io);
  const client = await h.connect(io);
  const socket = await connection;
  assert.equal(socket.id, client.id);
});

test("new Server(port): io.httpServer answers as socket.io's http.Server does", async () => {
  const io = new Server(0);
  const listening = new Promise((resolve) => io.httpServer.once("listening", resolve));
  await h.within(listening, "the listening event");
  assert.equal(io.httpServer.listening, true);
  assert.deepEqual(io.httpServer.address(), io.address());
  const { port } = io.httpServer.address();
  const client = await h.connect(`http://127.0.0.1:${port}`);
  const disconnected = new Promise((resolve) => client.once("disconnect", resolve));
  const closeEvent = new Promise((resolve) => io.httpServer.once("close", resolve));
  await h.within(new Promise((resolve) => io.httpServer.close(resolve)), "httpServer.close callback");
  await h.within(closeEvent, "the close event");
  await h.within(disconnected, "the client's disconnect");
  assert.equal(io.httpServer.listening, false);
  assert.equal(io.httpServer.address(), null);
  // the port is free again
  await new Promise((resolve, reject) => {
    const probe = http.createServer().listen(port, "::", () => probe.close(resolve));
    probe.once("error", reject);
  });
});

test("new Server(opts) + io.listen(port)", async () => {
  const io = new Server({ pingInterval: 1234 });
  io.listen(0);
  try {
    const open = await handshake(io);
    assert.equal(open.pingInterval, 1234);
  } finally {
    await io.close();
  }
});

test("the module is callable as socket.io's: require(\"roomcast\")(httpServer, opts)", async () => {
  const roomcast = require("roomcast");
  const httpServer = http.createServer((req, res) => res.end("app"));
  const io = roomcast(httpServer, { pingInterval: 4321 });
  assert.ok(io instanceof roomcast.Server);
  await new Promise((resolve) => httpServer.listen(0, "127.0.0.1", resolve));
  try {
    const open = await handshake(io);
    assert.equal(open.pingInterval, 4321);
  } finally {
    await io.close();
  }
});

test("new Server(httpServer): socket.io on the path, the app's handler for the rest", async () => {
  const httpServer = http.createServer((req, res) => res.end(`app:${req.url}`));
  const io = new Server(httpServer);
  await new Promise((resolve) => httpServer.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${httpServer.address().port}`;
  try {
    assert.equal((await get(`${base}/hello`)).body, "app:/hello");
    const connection = h.nextConnection(io);
    for (const mode of ["websocket", "polling", "upgrade"]) {
      const client = await h.connect(base, { mode });
      const socket = await h.within(connection, "server-side connection");
      assert.equal(typeof socket.id, "string");
      client.disconnect();
    }
    assert.deepEqual(io.address(), httpServer.address());
  } finally {
    await io.close();
  }
  assert.equal(httpServer.listening, false, "io.close() closes the attached http.Server");
});

test("options with socket.io's names reach the wire", async () => {
  const io = h.startServer({
    path: "/custom",
    pingInterval: 4321,
    pingTimeout: 1234,
    maxHttpBufferSize: 5000,
    transports: ["polling"],
    cors: { origin: "https://app.example", credentials: true },
  });
  const open = await handshake(io);
  assert.equal(open.pingInterval, 4321);
  assert.equal(open.pingTimeout, 1234);
  assert.equal(open.maxPayload, 5000);
  assert.deepEqual(open.upgrades, []);
  const res = await new Promise((resolve, reject) => {
    http
      .get(`${h.urlOf(io)}/custom/?EIO=4&transport=polling`, { headers: { origin: "https://app.example" } }, resolve)
      .on("error", reject);
  });
  res.resume();
  assert.equal(res.headers["access-control-allow-origin"], "https://app.example");
  assert.equal(res.headers["access-control-allow-credentials"], "true");
  assert.equal((await get(`${h.urlOf(io)}/socket.io/?EIO=4&transport=polling`)).status, 404);
});

test("connectTimeout closes a connection that joins no namespace", async () => {
  const io = h.startServer({ connectTimeout: 200 });
  const client = h.client(io, { autoConnect: false });
  // The manager opens the Engine.IO connection only; no namespace is joined.
  const opened = h.once(client.io, "open");
  client.io.open();
  await opened;
  const started = Date.now();
  const [reason] = await h.once(client.io, "close", 3000);
  assert.equal(typeof reason, "string");
  assert.ok(Date.now() - started < 2000);
});

test("serveClient serves socket.io-client's bundle under the path", async () => {
  const io = h.startServer();
  const res = await get(`${h.urlOf(io)}/socket.io/socket.io.js`);
  assert.equal(res.status, 200);
  assert.match(res.headers["content-type"], /javascript/);
  assert.ok(res.body.length > 10000);
  const off = h.startServer({ serveClient: false });
  // without the bundle the path is plain Engine.IO, which refuses the request
  assert.equal((await get(`${h.urlOf(off)}/socket.io/socket.io.js`)).status, 400);
});

test("invalid options are refused with a message naming the option", () => {
  assert.throws(() => new Server({ pingInterval: -1 }), /pingInterval/);
  assert.throws(() => new Server({ transports: ["carrier-pigeon"] }), /carrier-pigeon/);
  assert.throws(() => new Server({ cors: { origin: /x/ } }), /cors\.origin/);
  assert.throws(() => new Server({ path: "" }), /path/);
  assert.throws(() => new Server({ perMessageDeflate: { zlibDeflateOptions: { level: 12 } } }), /level/);
  assert.throws(() => new Server({ perMessageDeflate: "yes" }), /perMessageDeflate/);
});

test("io.sockets is the default namespace and io.on('connection') listens on it", async () => {
  const io = h.startServer();
  assert.equal(io.sockets, io.of("/"));
  assert.equal(io.sockets.name, "/");
  const seen = h.nextConnection(io.sockets);
  const viaServer = h.nextConnection(io);
  await h.connect(io);
  assert.equal(await seen, await viaServer);
  assert.equal(io.sockets.sockets.size, 1);
  assert.equal(io.engine.clientsCount, 1);
});

test("io.close() disconnects everyone with \"server shutting down\" and frees the port", async () => {
  const io = new Server(0);
  const { port } = io.address();
  const connection = h.nextConnection(io);
  const client = await h.connect(io);
  const socket = await connection;
  const serverReason = h.once(socket, "disconnect");
  const clientReason = h.once(client, "disconnect");
  let callbackCalled = false;
  await io.close(() => {
    callbackCalled = true;
  });
  assert.equal(callbackCalled, true);
  assert.deepEqual(await serverReason, ["server shutting down"]);
  assert.ok(["transport close", "io server disconnect"].includes((await clientReason)[0]));
  // the port is free again
  const again = new Server(port);
  await again.close();
});

function preflight(url) {
  return new Promise((resolve, reject) => {
    const req = http.request(`${url}/socket.io/?EIO=4&transport=polling`, {
      method: "OPTIONS",
      headers: {
        origin: "https://app.example",
        "access-control-request-method": "POST",
        "access-control-request-headers": "x-token,content-type",
      },
    });
    req.on("response", (res) => {
      res.resume();
      res.on("end", () => resolve(res));
    });
    req.on("error", reject).end();
  });
}

test("cors.methods and cors.allowedHeaders: a preflight answers what was configured, else the cors package's defaults", async () => {
  const configured = { origin: "*", methods: ["GET", "POST"], allowedHeaders: ["x-token"] };
  const httpServer = http.createServer();
  const attached = new Server(httpServer, { cors: configured });
  await new Promise((resolve) => httpServer.listen(0, "127.0.0.1", resolve));
  try {
    for (const url of [h.urlOf(h.startServer({ cors: configured })), `http://127.0.0.1:${httpServer.address().port}`]) {
      const res = await preflight(url);
      assert.equal(res.statusCode, 204);
      assert.equal(res.headers["access-control-allow-origin"], "*");
      assert.equal(res.headers["access-control-allow-methods"], "GET,POST");
      assert.equal(res.headers["access-control-allow-headers"], "x-token");
      assert.doesNotMatch(String(res.headers.vary), /Access-Control-Request-Headers/i);
    }
    const strings = await preflight(h.urlOf(h.startServer({ cors: { methods: "PUT", allowedHeaders: "x-a, x-b" } })));
    assert.equal(strings.headers["access-control-allow-methods"], "PUT");
    assert.equal(strings.headers["access-control-allow-headers"], "x-a, x-b");
    // socket.io, through the cors package, sends these when nothing is configured.
    const defaults = await preflight(h.urlOf(h.startServer({ cors: { origin: "*" } })));
    assert.equal(defaults.statusCode, 204);
    assert.equal(defaults.headers["access-control-allow-methods"], "GET,HEAD,PUT,PATCH,POST,DELETE");
    assert.equal(defaults.headers["access-control-allow-headers"], "x-token,content-type");
    assert.match(defaults.headers.vary, /Access-Control-Request-Headers/);
  } finally {
    attached.close();
  }
  assert.throws(() => new Server({ cors: { methods: 7 } }), /cors\.methods/);
});
