"use strict";

// The process and its environment: the single stdout line, the seed page and client bundle,
// SIO_PATH, TRANSPORTS, PING_INTERVAL / PING_TIMEOUT / MAX_HTTP_BUFFER_SIZE in the handshake,
// MAX_HTTP_BUFFER_SIZE enforcement, CONNECT_TIMEOUT, CORS_ORIGIN / CORS_CREDENTIALS.

const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const h = require("../harness");
const { test, MODES } = h;

const SEED = fs.readFileSync(path.join(h.REPO_DIR, "examples", "seed.html"));

let plain; // defaults
let tuned; // custom path, ping settings, small buffer, short connect timeout, CORS "*"
let wsOnly; // websocket only, CORS list with credentials
let pollingOnly;

h.before(async () => {
  [plain, tuned, wsOnly, pollingOnly] = await Promise.all([
    h.startServer(),
    h.startServer({
      env: {
        SIO_PATH: "/custom/",
        PING_INTERVAL: "1234",
        PING_TIMEOUT: "2345",
        MAX_HTTP_BUFFER_SIZE: "1000",
        CONNECT_TIMEOUT: "300",
        CORS_ORIGIN: "*",
      },
    }),
    h.startServer({
      env: { TRANSPORTS: "websocket", CORS_ORIGIN: "http://a.test,http://b.test", CORS_CREDENTIALS: "1" },
    }),
    h.startServer({ env: { TRANSPORTS: "polling" } }),
  ]);
});
h.afterEach(() => h.closeAllClients());
h.after(async () => {
  h.closeAllClients();
  await Promise.all([plain, tuned, wsOnly, pollingOnly].filter(Boolean).map((s) => s.stop()));
});

function get(server, pathname, headers = {}, method = "GET") {
  return fetch(`${server.url}${pathname}`, { method, headers, signal: AbortSignal.timeout(3000) });
}

test("stdout carries exactly the one `listening on <port>` line", () => {
  for (const server of [plain, tuned, wsOnly, pollingOnly]) {
    assert.equal(server.stdout(), `listening on ${server.port}\n`);
  }
});

test("GET / serves the seed page", async () => {
  const res = await get(plain, "/");
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type"), /^text\/html/);
  assert.deepEqual(Buffer.from(await res.arrayBuffer()), SEED);
});

test("the client bundle is served under the socket.io path", async () => {
  for (const [server, prefix] of [
    [plain, "/socket.io/"],
    [tuned, "/custom/"],
  ]) {
    const res = await get(server, `${prefix}socket.io.js`);
    assert.equal(res.status, 200, prefix);
    assert.match(res.headers.get("content-type"), /javascript/);
    const body = await res.text();
    assert.ok(body.length > 10000, `bundle of ${body.length} bytes`);
    assert.ok(body.includes("io"), "looks like the client");
  }
});

test("the engine.io handshake reflects the defaults", async () => {
  const raw = await h.RawPollingClient.open(plain);
  assert.equal(raw.handshake.sid.length, 20);
  assert.deepEqual(raw.handshake.upgrades, ["websocket"]);
  assert.equal(raw.handshake.pingInterval, 25000);
  assert.equal(raw.handshake.pingTimeout, 20000);
  assert.equal(raw.handshake.maxPayload, 1000000);
  await raw.close();
});

test("PING_INTERVAL, PING_TIMEOUT, MAX_HTTP_BUFFER_SIZE and SIO_PATH reach the handshake", async () => {
  const raw = await h.RawPollingClient.open(tuned, { path: "/custom/" });
  assert.equal(raw.handshake.pingInterval, 1234);
  assert.equal(raw.handshake.pingTimeout, 2345);
  assert.equal(raw.handshake.maxPayload, 1000);
  await raw.close();
});

for (const mode of MODES) {
  test(`[${mode}] SIO_PATH moves the endpoint`, async () => {
    const socket = await h.connect(tuned, { mode, path: "/custom/" });
    assert.deepEqual(await h.emitWithAckArgs(socket, "echo", "custom"), ["custom"]);
  });

  test(`[${mode}] a message above MAX_HTTP_BUFFER_SIZE ends the connection`, async () => {
    const observer = await h.connect(tuned, { mode: "websocket", path: "/custom/" });
    await h.emitWithAck(observer, "join", "observers");

    const socket = await h.connect(tuned, { mode, path: "/custom/" });
    // below the limit is fine
    assert.deepEqual(await h.emitWithAckArgs(socket, "echo", "x".repeat(500)), ["x".repeat(500)]);
    const report = h.observed(observer, "disconnect", socket.id);
    const gone = h.once(socket, "disconnect");
    socket.emit("echo", "x".repeat(2000));
    await gone;
    assert.ok(["transport error", "transport close"].includes((await report).reason));
  });
}

test("the default path is not served when SIO_PATH moves the endpoint", async () => {
  const wrong = h.createClient(tuned, { mode: "polling", path: "/socket.io/" });
  await h.once(wrong, "connect_error", 3000, { rejectOn: ["connect"] });
  const res = await get(tuned, "/socket.io/?EIO=4&transport=polling");
  assert.notEqual(res.status, 200);
  await res.text();
});

test("CONNECT_TIMEOUT closes a connection that never joins a namespace", async () => {
  const started = Date.now();
  const raw = await h.RawWebSocketClient.connect(tuned, { connect: false, path: "/custom/" });
  await h.within(raw.closeEvent, 3000, "the server closing the idle connection");
  const elapsed = Date.now() - started;
  assert.ok(elapsed >= 250, `closed after ${elapsed} ms`);
});

test("TRANSPORTS=websocket refuses long-polling", async () => {
  const polling = h.createClient(wsOnly, { mode: "polling" });
  await h.once(polling, "connect_error", 3000, { rejectOn: ["connect"] });
  const res = await get(wsOnly, "/socket.io/?EIO=4&transport=polling");
  assert.equal(res.status, 400);
  await res.text();

  const socket = await h.connect(wsOnly, { mode: "websocket" });
  assert.deepEqual(await h.emitWithAckArgs(socket, "echo", 1), [1]);
});

test("TRANSPORTS=polling refuses websocket and offers no upgrade", async () => {
  const ws = h.createClient(pollingOnly, { mode: "websocket" });
  await h.once(ws, "connect_error", 3000, { rejectOn: ["connect"] });

  const raw = await h.RawPollingClient.open(pollingOnly);
  assert.deepEqual(raw.handshake.upgrades, []);
  await raw.close();

  const polling = await h.connect(pollingOnly, { mode: "polling" });
  assert.deepEqual(await h.emitWithAckArgs(polling, "echo", 1), [1]);
});

test("without CORS_ORIGIN there are no CORS headers", async () => {
  const res = await get(plain, "/socket.io/?EIO=4&transport=polling", { origin: "http://a.test" });
  assert.equal(res.status, 200);
  await res.text();
  assert.equal(res.headers.get("access-control-allow-origin"), null);
});

test("CORS_ORIGIN=* allows any origin", async () => {
  const res = await get(tuned, "/custom/?EIO=4&transport=polling", { origin: "http://anything.test" });
  assert.equal(res.status, 200);
  await res.text();
  assert.equal(res.headers.get("access-control-allow-origin"), "*");

  const preflight = await get(
    tuned,
    "/custom/?EIO=4&transport=polling",
    { origin: "http://anything.test", "access-control-request-method": "POST" },
    "OPTIONS",
  );
  assert.ok(preflight.status === 204 || preflight.status === 200, String(preflight.status));
  assert.equal(preflight.headers.get("access-control-allow-origin"), "*");
});

test("a CORS_ORIGIN list echoes allowed origins only; CORS_CREDENTIALS=1 allows credentials", async () => {
  // TRANSPORTS=websocket: the polling request is refused, but it still gets CORS headers
  const allowed = await get(wsOnly, "/socket.io/?EIO=4&transport=websocket", { origin: "http://b.test" });
  await allowed.text();
  assert.equal(allowed.headers.get("access-control-allow-origin"), "http://b.test");
  assert.equal(allowed.headers.get("access-control-allow-credentials"), "true");

  const other = await get(wsOnly, "/socket.io/?EIO=4&transport=websocket", { origin: "http://c.test" });
  await other.text();
  assert.equal(other.headers.get("access-control-allow-origin"), null);
});
