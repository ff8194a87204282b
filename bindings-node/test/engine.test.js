"use strict";

// io.engine as engine.io's Server: `connection` (the connection's `socket.conn`, with its
// close), `connection_error` with engine.io's code, message and context, `initial_headers` /
// `headers` adding response headers; and the answer to a polling client that broke the
// protocol (`6` then `1`, as engine.io's polling transport flushes a buffered close). Each on
// roomcast's own listener and attached to an http.Server.

const assert = require("node:assert/strict");
const http = require("node:http");
const { after } = require("node:test");
const WebSocket = require("ws");
const { Server } = require("roomcast");
const h = require("./helpers");

after(() => h.cleanup());

/** A server in `mode`: "own" (its own listener) or "http" (attached to an http.Server). */
async function serverIn(mode, opts = {}) {
  if (mode === "own") return h.startServer(opts);
  const httpServer = http.createServer();
  const io = new Server(httpServer, opts);
  await new Promise((resolve) => httpServer.listen(0, "127.0.0.1", resolve));
  after(() => io.close());
  return io;
}

function portOf(io) {
  return io.httpServer.address().port;
}

/** One HTTP request to the server; resolves with status, headers and body text. */
function request(io, method, path, body) {
  return h.within(
    new Promise((resolve, reject) => {
      const req = http.request({ host: "127.0.0.1", port: portOf(io), method, path, agent: false }, (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c) => (text += c));
        res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: text }));
      });
      req.on("error", reject);
      req.end(body);
    }),
    `${method} ${path}`,
  );
}

async function eioHandshake(io) {
  const res = await request(io, "GET", "/socket.io/?EIO=4&transport=polling");
  return JSON.parse(res.body.slice(1)).sid;
}

for (const mode of ["own", "http"]) {
  h.test(`[${mode}] io.engine "connection" gives the connection's socket.conn, then its close`, async () => {
    const io = await serverIn(mode);
    const closed = [];
    const engineConn = h.once(io.engine, "connection").then(([conn]) => {
      assert.equal(conn.readyState, "open");
      assert.equal(conn.transport.name, "polling");
      assert.equal(conn.protocol, 4);
      assert.match(conn.request.url, /^\/socket\.io\/\?EIO=4&transport=polling/);
      assert.equal(conn.request.headers.host, `127.0.0.1:${portOf(io)}`);
      conn.on("close", (reason) => closed.push(reason));
      return conn;
    });
    const socketConn = h.nextConnection(io);
    const client = await h.connect(`http://127.0.0.1:${portOf(io)}`, { mode: "polling" });
    const [conn, socket] = await Promise.all([engineConn, socketConn]);
    assert.equal(socket.conn, conn, "socket.conn is the object io.engine announced");
    assert.equal(conn.id, client.io.engine.id);
    assert.equal(io.engine.clientsCount, 1);
    const gone = h.once(conn, "close");
    socket.disconnect(true);
    await gone;
    assert.deepEqual(closed, ["forced close"]);
    assert.equal(conn.readyState, "closed");
  });

  h.test(`[${mode}] a connection whose request a listener removed has socket.io's request-less handshake`, async () => {
    const io = await serverIn(mode);
    io.engine.on("connection", (conn) => {
      delete conn.request;
    });
    const socket = h.nextConnection(io);
    await h.connect(`http://127.0.0.1:${portOf(io)}/?token=1`);
    const { handshake } = await socket;
    assert.deepEqual(handshake.headers, {});
    assert.deepEqual(handshake.query, {});
    assert.equal(handshake.secure, true);
  });

  h.test(`[${mode}] io.engine "connection_error": engine.io's codes, messages and contexts`, async () => {
    const io = await serverIn(mode, { allowRequest: (req, cb) => cb(null, !req.url.includes("deny")) });
    const errors = [];
    const fifth = new Promise((resolve) =>
      io.engine.on("connection_error", (err) => {
        if (errors.push(err) === 5) resolve();
      }),
    );
    await request(io, "GET", "/socket.io/?EIO=4&transport=udp");
    await request(io, "GET", "/socket.io/?EIO=4&transport=polling&sid=unknown");
    await request(io, "POST", "/socket.io/?EIO=4&transport=polling", "x");
    await request(io, "GET", "/socket.io/?EIO=4&transport=websocket");
    await request(io, "GET", "/socket.io/?EIO=4&transport=polling&deny=1");
    await h.within(fifth, "five connection_error events");
    const seen = errors.map((e) => [e.code, e.message, e.context, e.req.method]);
    assert.deepEqual(seen, [
      [0, "Transport unknown", { transport: "udp" }, "GET"],
      [1, "Session ID unknown", { sid: "unknown" }, "GET"],
      [2, "Bad handshake method", { method: "POST" }, "POST"],
      [3, "Bad request", { name: "TRANSPORT_HANDSHAKE_ERROR" }, "GET"],
      [4, "Forbidden", {}, "GET"],
    ]);
    assert.equal(errors[0].req.url, "/socket.io/?EIO=4&transport=udp");
    assert.equal(errors[0].req._query.transport, "udp");
    assert.equal(typeof errors[0].req.headers, "object");
  });

  h.test(`[${mode}] initial_headers and headers add response headers; clients connect over both transports`, async () => {
    const io = await serverIn(mode);
    io.engine.on("initial_headers", (headers, req) => {
      assert.equal(req._query.sid, undefined);
      headers["set-cookie"] = ["a=1", "b=2"];
    });
    io.engine.on("headers", (headers, req) => {
      headers["x-request"] = req.method;
    });
    const first = await request(io, "GET", "/socket.io/?EIO=4&transport=polling");
    assert.deepEqual(first.headers["set-cookie"], ["a=1", "b=2"]);
    assert.equal(first.headers["x-request"], "GET");
    const sid = JSON.parse(first.body.slice(1)).sid;
    const post = await request(io, "POST", `/socket.io/?EIO=4&transport=polling&sid=${sid}`, "40");
    assert.equal(post.headers["x-request"], "POST");
    assert.equal(post.headers["set-cookie"], undefined, "initial_headers only for the handshake");
    const poll = await request(io, "GET", `/socket.io/?EIO=4&transport=polling&sid=${sid}`);
    assert.equal(poll.headers["x-request"], "GET");

    const ws = new WebSocket(`ws://127.0.0.1:${portOf(io)}/socket.io/?EIO=4&transport=websocket`);
    const [upgrade] = await h.once(ws, "upgrade");
    assert.deepEqual(upgrade.headers["set-cookie"], ["a=1", "b=2"]);
    assert.equal(upgrade.headers["x-request"], "GET");
    ws.close();

    await h.connect(`http://127.0.0.1:${portOf(io)}`, { mode: "upgrade" });
  });

  h.test(`[${mode}] a polling client that broke the protocol gets a noop then the close, as from engine.io`, async () => {
    const io = await serverIn(mode);
    const sid = await eioHandshake(io);
    const path = `/socket.io/?EIO=4&transport=polling&sid=${sid}`;
    const connected = h.nextConnection(io);
    await request(io, "POST", path, "40");
    // Connected first (its CONNECT reply is queued when the handler runs), then a second
    // CONNECT to the same namespace breaks the protocol: the session closes.
    await h.within(connected, "connection");
    await request(io, "POST", path, "40");
    const connectReply = await request(io, "GET", path);
    assert.match(connectReply.body, /^40\{"sid":/);
    const last = await request(io, "GET", path);
    assert.equal(last.body, "6\u001e1");
  });
}

h.test("a connection io.engine announced can be closed before any namespace connects", async () => {
  const io = h.startServer();
  io.engine.on("connection", (conn) => conn.close());
  const client = h.client(io, { transports: ["polling"] });
  // The handshake succeeds; the session is closed before CONNECT is answered.
  // engine.io-client names a close packet from the server "transport close".
  const [reason] = await h.once(client.io, "close");
  assert.equal(reason, "transport close");
});
