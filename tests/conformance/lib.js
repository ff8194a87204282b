"use strict";

// Raw wire helpers for the protocol conformance group: plain HTTP requests (status, headers and
// body exactly as sent) and plain WebSocket frames (text vs binary, close codes). No engine.io or
// socket.io client code is involved. Every wait is bounded; `expectNothing*` are the only
// deliberate silent windows.

const http = require("node:http");
const nodeTest = require("node:test");
const WebSocket = require("ws");
// only the process side of the harness: no client library is loaded by this group
const harness = require("../harness/server");

const SEP = "\x1e";
const WAIT_MS = 3000;
const SID_RE = /^[A-Za-z0-9_-]{20}$/;

/** Resources opened by a test file; closed by cleanup() so nothing keeps the process alive. */
const live = new Set();

const TEST_TIMEOUT_MS = 15000;

/** node:test's `test` with a per-test bound; prints the server's stderr when a test fails. */
function test(name, options, fn) {
  if (typeof options === "function") {
    fn = options;
    options = {};
  }
  return nodeTest.test(name, { timeout: TEST_TIMEOUT_MS, ...options }, async (t) => {
    try {
      return await fn(t);
    } catch (err) {
      harness.dumpServerLogs(name);
      throw err;
    }
  });
}

/** Starts the flavour chosen by ROOMCAST_SERVER with `env`; remembers the engine.io path. */
async function startServer(env = {}) {
  const server = await harness.startServer({ env });
  server.path = env.SIO_PATH || "/socket.io/";
  return server;
}

/** Closes every request and websocket still open, then stops the given servers. */
async function cleanup(...servers) {
  for (const item of [...live]) item.destroy();
  live.clear();
  await Promise.all(servers.filter(Boolean).map((s) => s.stop()));
}

/** Bounded wait on a promise; rejects with `what` after `ms`. */
function within(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** `<path>?EIO=4&transport=polling` plus extra query parameters (an object, in order). */
function eioPath(server, query = {}) {
  const params = new URLSearchParams({ EIO: "4", transport: "polling", ...query });
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined) params.delete(key);
  }
  return `${server.path}?${params}`;
}

/**
 * One HTTP request on a fresh connection. Resolves with {status, headers, body (Buffer), text}.
 * `path` is taken as is (use eioPath()). Rejects after `timeoutMs` without a full response.
 */
function request(server, method, path, { headers = {}, body, timeoutMs = WAIT_MS } = {}) {
  let markSent;
  const sent = new Promise((resolve) => {
    markSent = resolve;
  });
  const promise = new Promise((resolve, reject) => {
    let finished = false;
    const req = http.request(
      { host: "127.0.0.1", port: server.port, method, path, headers, agent: false },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => {
          finished = true;
          clearTimeout(timer);
          live.delete(handle);
          const buf = Buffer.concat(chunks);
          resolve({ status: res.statusCode, headers: res.headers, body: buf, text: buf.toString("utf8") });
        });
        res.on("error", () => {});
      },
    );
    const handle = {
      destroy() {
        // our own cleanup: settle quietly so no rejection outlives the test
        finished = true;
        clearTimeout(timer);
        req.destroy();
        resolve({ status: 0, aborted: true, headers: {}, body: Buffer.alloc(0), text: "" });
      },
    };
    live.add(handle);
    const timer = setTimeout(() => {
      if (finished) return;
      finished = true;
      live.delete(handle);
      req.destroy();
      reject(new Error(`timed out after ${timeoutMs} ms: ${method} ${path}`));
    }, timeoutMs);
    req.on("error", (err) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      live.delete(handle);
      reject(err);
    });
    req.on("finish", markSent);
    if (body !== undefined) req.write(body);
    req.end();
  });
  // resolves once the whole request has been handed to the kernel
  promise.sent = sent;
  return promise;
}

/**
 * Orders a request before what follows: waits until it is fully written, then makes one full
 * round trip to the server on another connection, so the server has read the earlier request.
 */
async function afterArrival(server, pending) {
  if (pending) await within(pending.sent, WAIT_MS, "request written");
  await request(server, "GET", eioPath(server, { sid: "round-trip-marker" }));
}

/** Splits a long-polling payload into its packets. */
function decodePayload(text) {
  return text.split(SEP);
}

/** Parses the JSON of an `open` packet (`0{...}`). */
function parseOpen(packet) {
  if (typeof packet !== "string" || packet[0] !== "0") {
    throw new Error(`not an open packet: ${JSON.stringify(packet)}`);
  }
  return JSON.parse(packet.slice(1));
}

/** The JSON payload after the namespace/ack prefix of a socket.io packet string. */
function jsonOf(packet) {
  const i = packet.search(/[[{"]/);
  return JSON.parse(packet.slice(i));
}

/** A polling session driven by hand. */
class PollingSession {
  constructor(server, sid, open) {
    this.server = server;
    this.sid = sid;
    this.open = open;
  }

  /** GET /?EIO=4&transport=polling: the handshake. */
  static async create(server, query = {}) {
    const res = await request(server, "GET", eioPath(server, query));
    if (res.status !== 200) throw new Error(`handshake -> ${res.status} ${res.text}`);
    const open = parseOpen(decodePayload(res.text)[0]);
    const session = new PollingSession(server, open.sid, open);
    session.handshakeResponse = res;
    return session;
  }

  path(query = {}) {
    return eioPath(this.server, { sid: this.sid, ...query });
  }

  /** Raw GET with this sid: {status, headers, text}. */
  get(timeoutMs = WAIT_MS) {
    return request(this.server, "GET", this.path(), { timeoutMs });
  }

  /** Raw POST with this sid; `packets` is a string or a list joined with \x1e. */
  post(packets, { headers = {}, timeoutMs = WAIT_MS } = {}) {
    const body = Array.isArray(packets) ? packets.join(SEP) : packets;
    return request(this.server, "POST", this.path(), {
      body,
      headers: { "content-type": "text/plain;charset=UTF-8", ...headers },
      timeoutMs,
    });
  }

  /**
   * GET that must answer 200 with a well-framed payload (content-length counts the body's
   * bytes; packets joined by \x1e, no empty packet from a stray separator); resolves with its
   * packets.
   */
  async poll(timeoutMs = WAIT_MS) {
    const res = await this.get(timeoutMs);
    if (res.status !== 200) throw new Error(`GET -> ${res.status} ${res.text}`);
    const length = Number(res.headers["content-length"]);
    if (length !== res.body.length) {
      throw new Error(`content-length ${length} for a body of ${res.body.length} bytes`);
    }
    const packets = decodePayload(res.text);
    if (packets.some((p) => p.length === 0)) {
      throw new Error(`empty packet in ${JSON.stringify(res.text)}`);
    }
    return packets;
  }

  /** POST that must answer 200 `ok`. */
  async send(packets) {
    const res = await this.post(packets);
    if (res.status !== 200 || res.text !== "ok") throw new Error(`POST -> ${res.status} ${res.text}`);
  }

  /** Polls until a packet matching `predicate` arrives; resolves with every packet seen. */
  async pollUntil(predicate, timeoutMs = WAIT_MS) {
    const deadline = Date.now() + timeoutMs;
    const seen = [];
    while (!seen.some(predicate)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out polling; got ${JSON.stringify(seen)}`);
      seen.push(...(await this.poll(left)));
    }
    return seen;
  }

  /** CONNECT to a namespace over polling; resolves with the CONNECT answer. */
  async connect(nsp = "/", auth) {
    await this.send(connectPacket(nsp, auth));
    const prefix = nsp === "/" ? "40" : `40${nsp},`;
    const seen = await this.pollUntil((p) => p.startsWith(prefix) || p.startsWith("44"));
    return seen.find((p) => p.startsWith(prefix) || p.startsWith("44"));
  }

  /**
   * Observes the end of the session: GETs until a payload ends with the close packet `1`, then
   * checks that the sid is unknown. Resolves with the packets of that last payload.
   */
  async expectEnded(timeoutMs = WAIT_MS) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error("timed out waiting for the session to end");
      const res = await this.get(left);
      if (res.status === 400) {
        assertErrorBody(res, 1, "Session ID unknown");
        return [];
      }
      if (res.status !== 200) throw new Error(`GET -> ${res.status} ${res.text}`);
      const packets = decodePayload(res.text);
      if (packets[packets.length - 1] === "1") {
        await this.expectGone();
        return packets;
      }
    }
  }

  /** The sid is unknown: a GET answers 400 {"code":1,"message":"Session ID unknown"}. */
  async expectGone() {
    const res = await this.get();
    assertErrorBody(res, 1, "Session ID unknown");
  }
}

function connectPacket(nsp = "/", auth) {
  const prefix = nsp === "/" ? "" : `${nsp},`;
  return `40${prefix}${auth === undefined ? "" : JSON.stringify(auth)}`;
}

/** Asserts an engine.io error response: status, JSON content type and exact body. */
function assertErrorBody(res, code, message, status = code === 4 ? 403 : 400) {
  const expected = JSON.stringify({ code, message });
  if (res.status !== status || res.text !== expected) {
    throw new Error(`expected ${status} ${expected}, got ${res.status} ${JSON.stringify(res.text)}`);
  }
  const type = res.headers["content-type"];
  if (type !== "application/json") throw new Error(`expected content-type application/json, got ${type}`);
}

/**
 * A websocket driven by hand. Messages are queued as {text} or {binary: Buffer}; `next()` takes
 * them in order. `closed` resolves with {code, reason, at} when the socket closes.
 */
class WsClient {
  constructor(ws) {
    this.ws = ws;
    this.queue = [];
    this.waiters = [];
    this.isClosed = false;
    this.handle = { destroy: () => this.terminate() };
    live.add(this.handle);
    this.closed = new Promise((resolve) => {
      ws.on("close", (code, reason) => {
        this.isClosed = true;
        live.delete(this.handle);
        const info = { code, reason: reason.toString(), at: Date.now() };
        this.closeInfo = info;
        resolve(info);
        this.flush();
      });
    });
    ws.on("error", (err) => {
      this.error = err;
    });
    ws.on("message", (data, isBinary) => {
      const message = isBinary ? { binary: Buffer.from(data), at: Date.now() } : { text: data.toString(), at: Date.now() };
      this.queue.push(message);
      this.flush();
    });
  }

  /**
   * Opens `ws://…<path>?EIO=4&transport=websocket&…`. Resolves with the client once the
   * upgrade succeeded, or with {rejected: {status, headers, text}} if the server answered the
   * upgrade request with a plain HTTP response, or {failed: Error} if the connection broke.
   */
  static open(server, query = {}, options = {}) {
    const url = `ws://127.0.0.1:${server.port}${eioPath(server, { transport: "websocket", ...query })}`;
    const ws = new WebSocket(url, { perMessageDeflate: false, ...options });
    const client = new WsClient(ws);
    return within(
      new Promise((resolve) => {
        ws.once("open", () => resolve(client));
        ws.once("unexpected-response", (req, res) => {
          const chunks = [];
          res.on("data", (c) => chunks.push(c));
          res.on("end", () => {
            client.terminate();
            resolve({ rejected: { status: res.statusCode, headers: res.headers, text: Buffer.concat(chunks).toString() } });
          });
          res.on("error", () => {});
        });
        ws.once("error", (err) => resolve({ failed: err, client }));
      }),
      WAIT_MS,
      `websocket open ${url}`,
    );
  }

  /** Opens a websocket-only session and reads its open packet (this.open). */
  static async session(server, query = {}) {
    const client = await WsClient.open(server, query);
    if (!(client instanceof WsClient)) throw new Error(`websocket refused: ${JSON.stringify(client)}`);
    const first = await client.next();
    if (first.text === undefined) throw new Error("first frame is binary");
    client.openedAt = first.at;
    client.open = parseOpen(first.text);
    return client;
  }

  send(data) {
    this.ws.send(data);
  }

  flush() {
    while (this.waiters.length && (this.queue.length || this.isClosed)) {
      const w = this.waiters.shift();
      clearTimeout(w.timer);
      if (this.queue.length) w.resolve(this.queue.shift());
      else w.reject(new Error(`websocket closed (${this.closeInfo.code}) while waiting for ${w.what}`));
    }
  }

  /** The next frame, {text} or {binary}; rejects after `timeoutMs` or when the socket closes. */
  next(timeoutMs = WAIT_MS, what = "a frame") {
    return new Promise((resolve, reject) => {
      const waiter = { resolve, reject, what };
      waiter.timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      this.waiters.push(waiter);
      this.flush();
    });
  }

  /** The next frame, which must be a text frame; resolves with its text. */
  async nextText(timeoutMs = WAIT_MS) {
    const m = await this.next(timeoutMs, "a text frame");
    if (m.text === undefined) throw new Error(`expected a text frame, got binary ${m.binary.toString("hex")}`);
    return m.text;
  }

  /** The next frame, which must be a binary frame; resolves with its bytes. */
  async nextBinary(timeoutMs = WAIT_MS) {
    const m = await this.next(timeoutMs, "a binary frame");
    if (m.binary === undefined) throw new Error(`expected a binary frame, got text ${JSON.stringify(m.text)}`);
    return m.binary;
  }

  /** CONNECT to a namespace; resolves with the server's answer (CONNECT or CONNECT_ERROR). */
  async connect(nsp = "/", auth) {
    this.send(connectPacket(nsp, auth));
    return this.nextText();
  }

  /** Resolves with {code, reason, at} once the server closed the socket, within `timeoutMs`. */
  waitClosed(timeoutMs = WAIT_MS) {
    return within(this.closed, timeoutMs, "websocket close");
  }

  /**
   * Deliberate silent window: no frame and no close within `ms`. The bounded "nothing happens"
   * check of this group.
   */
  async expectNothingWithin(ms) {
    const before = this.queue.length;
    await new Promise((resolve) => setTimeout(resolve, ms));
    if (this.queue.length > before) {
      const m = this.queue[before];
      throw new Error(`unexpected frame within ${ms} ms: ${m.text !== undefined ? JSON.stringify(m.text) : "binary"}`);
    }
    if (this.isClosed) throw new Error(`unexpected close (${this.closeInfo.code}) within ${ms} ms`);
  }

  terminate() {
    live.delete(this.handle);
    if (!this.isClosed) this.ws.terminate();
  }
}

/**
 * A websocket session that sent a protocol violation: expects the server to close it. Frames
 * received before the close are returned (the reference scenario server reports parser errors
 * to the socket's `error` listener, which emits `use-error`, see README).
 */
async function expectWsClosedByServer(client, timeoutMs = WAIT_MS) {
  const info = await client.waitClosed(timeoutMs);
  const frames = client.queue.splice(0);
  return { ...info, frames };
}

module.exports = {
  SEP,
  WAIT_MS,
  SID_RE,
  test,
  describe: nodeTest.describe,
  before: nodeTest.before,
  after: nodeTest.after,
  startServer,
  cleanup,
  within,
  eioPath,
  request,
  afterArrival,
  decodePayload,
  parseOpen,
  jsonOf,
  connectPacket,
  assertErrorBody,
  PollingSession,
  WsClient,
  expectWsClosedByServer,
};
