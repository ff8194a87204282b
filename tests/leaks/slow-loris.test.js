"use strict";

// Slow-loris against the native listener: hundreds of connections that send half a request
// and then nothing. roomcast cuts them off after HTTP_HEADER_TIMEOUT, refuses those past
// MAX_CONNECTIONS_PER_IP at once, keeps its descriptors bounded, logs the refusals and counts
// them in stats(), and serves a real client throughout. Then a POST whose body never comes
// (HTTP_BODY_TIMEOUT) and a handshake past MAX_SESSIONS.

const { before, after } = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const net = require("node:net");
const h = require("../harness");

const ATTACKERS = 400;
const PER_IP = 100;
const TIMEOUT_MS = 1000;
// The attackers come from another loopback address than the real clients (127.0.0.1), as
// an attacker's own address would.
const ATTACKER_ADDRESS = "127.0.0.2";

// The Node scenario server runs on Node's http.Server, whose own headersTimeout,
// requestTimeout and maxConnections apply there; the reference server has no such caps.
const skip = h.flavour() === "reference" || h.flavour() === "node";
let server;

function openFds(target) {
  return fs.readdirSync(`/proc/${target.process.pid}/fd`).length;
}

/** A TCP connection that sends `head` and then stalls; resolves its end (time, bytes read). */
function stalled(target, head, localAddress = ATTACKER_ADDRESS) {
  const started = Date.now();
  const sock = net.connect({ port: target.port, host: "127.0.0.1", localAddress });
  let received = "";
  sock.on("data", (d) => (received += d.toString("latin1")));
  const ended = new Promise((resolve) => {
    sock.on("close", () => resolve({ afterMs: Date.now() - started, received }));
    sock.on("error", () => {});
  });
  const connected = new Promise((resolve) => {
    sock.on("connect", resolve);
    sock.on("close", resolve);
  });
  sock.on("connect", () => sock.write(head));
  return { sock, connected, ended };
}

before(async () => {
  if (skip) return;
  server = await h.startServer({
    env: {
      HTTP_HEADER_TIMEOUT: String(TIMEOUT_MS),
      HTTP_BODY_TIMEOUT: String(TIMEOUT_MS),
      MAX_CONNECTIONS_PER_IP: String(PER_IP),
      RUST_LOG: "warn",
    },
  });
});
after(async () => {
  h.closeAllClients();
  if (server) await server.stop();
});

h.test("half-sent requests are cut off after the header timeout, those past the per-address cap refused; a real client is served meanwhile", { skip, timeout: 30000 }, async (t) => {
  const healthy = await h.connect(server, { mode: "websocket" });
  const baseline = openFds(server);
  const head = "GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: localhost\r\n";
  const attackers = [];
  for (let i = 0; i < ATTACKERS; i++) attackers.push(stalled(server, head));
  await h.within(Promise.all(attackers.map((a) => a.connected)), 10000, "attackers connected");

  // While the attackers hold their places, the real client still gets answers and a new
  // client (from another address) still connects.
  const during = openFds(server);
  assert.equal(await h.emitWithAck(healthy, "echo", "still here"), "still here");
  const newcomer = await h.connect(server, { mode: "polling" });
  assert.equal(await h.emitWithAck(newcomer, "echo", "newcomer"), "newcomer");

  const ends = await h.within(Promise.all(attackers.map((a) => a.ended)), TIMEOUT_MS * 10, "every attacker cut off");
  t.diagnostic(`open fds: ${baseline} before, ${during} with ${ATTACKERS} attackers`);
  assert.ok(during <= baseline + PER_IP + 20, `${during} fds open with the attack, ${baseline} before`);
  assert.ok(ends.every((e) => e.received === "" || e.received.startsWith("HTTP/1.1 408")), "no request was answered");
  // The ones that got in were held no shorter than the timeout.
  const heldLong = ends.filter((e) => e.afterMs >= TIMEOUT_MS * 0.9).length;
  assert.ok(heldLong <= PER_IP, `${heldLong} attackers held past the timeout, the cap is ${PER_IP}`);

  const stats = await h.emitWithAck(healthy, "stats");
  assert.ok(stats.refusedConnections >= ATTACKERS - PER_IP, `refused ${stats.refusedConnections}`);
  assert.ok(stats.timedOutRequests >= 1, `timed out ${stats.timedOutRequests}`);
  const log = server.stderr();
  assert.match(log, /max_connections_per_ip/);
  assert.match(log, /request headers not received in time/);
  assert.ok(healthy.connected && newcomer.connected);
  assert.ok(openFds(server) <= baseline + 5, "the attackers' descriptors are released");
});

h.test("a POST whose body never arrives gets 408 after the body timeout", { skip, timeout: 15000 }, async () => {
  const client = await h.RawPollingClient.open(server);
  const before = (await h.emitWithAck(await h.connect(server), "stats")).timedOutRequests;
  const head =
    `POST /socket.io/?EIO=4&transport=polling&sid=${client.sid} HTTP/1.1\r\nHost: localhost\r\n` +
    "Content-Type: text/plain;charset=UTF-8\r\nContent-Length: 100\r\n\r\n40";
  const { ended } = stalled(server, head, "127.0.0.1");
  const end = await h.within(ended, TIMEOUT_MS * 10, "the slow POST cut off");
  assert.match(end.received, /^HTTP\/1.1 408/);
  assert.ok(end.afterMs >= TIMEOUT_MS * 0.9, `cut off after ${end.afterMs} ms`);
  const stats = await h.emitWithAck(await h.connect(server), "stats");
  assert.ok(stats.timedOutRequests > before);
  assert.match(server.stderr(), /body not received in time/);
});

h.test("handshakes past max_sessions get 503 until a session ends", { skip, timeout: 15000 }, async () => {
  const capped = await h.startServer({ env: { MAX_SESSIONS: "2", RUST_LOG: "warn" } });
  try {
    const first = await h.connect(capped, { mode: "websocket" });
    await h.connect(capped, { mode: "polling" });
    const res = await fetch(`${capped.url}/socket.io/?EIO=4&transport=polling`, { signal: AbortSignal.timeout(5000) });
    assert.equal(res.status, 503);
    assert.deepEqual(await res.json(), { code: 6, message: "Server full" });
    const stats = await h.emitWithAck(first, "stats");
    assert.equal(stats.refusedSessions, 1);
    assert.match(capped.stderr(), /max_sessions/);
    // A place freed is a place taken again.
    const gone = h.once(first, "disconnect");
    first.disconnect();
    await gone;
    let again;
    for (let i = 0; i < 50 && !again; i++) {
      const r = await fetch(`${capped.url}/socket.io/?EIO=4&transport=polling`, { signal: AbortSignal.timeout(5000) });
      if (r.status === 200) again = await r.text();
      else await h.within(new Promise((resolve) => setImmediate(resolve)), 1000, "tick");
    }
    assert.ok(again && again.startsWith("0"), "a handshake succeeds once a session ended");
  } finally {
    await capped.stop();
  }
});
