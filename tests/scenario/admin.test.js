"use strict";

// The Socket.IO admin UI's namespace, driven with socket.io-client exactly as the UI
// (@socket.io/admin-ui's ui/src/App.vue) does: login through the CONNECT payload, then
// `session`, `config`, `all_sockets`, `server_stats` and the live feed, and the UI's commands
// `emit`, `join`, `leave`, `_disconnect`. The reference flavour runs the npm package itself.

const assert = require("node:assert/strict");
const h = require("../harness");
const { test } = h;

const LOGIN = { username: "admin", password: "changeit" };
// server_stats goes out every 2 s: a few periods.
const STATS_WAIT_MS = 8000;

const servers = [];
async function start(env) {
  const server = await h.startServer({ env: { ADMIN: "basic", ...env } });
  servers.push(server);
  return server;
}

h.afterEach(() => h.closeAllClients());
h.after(async () => {
  h.closeAllClients();
  await Promise.all(servers.map((s) => s.stop()));
});

/** Opens the admin namespace as the UI does, with every listener set before the CONNECT. */
async function openAdmin(server, { auth = LOGIN, mode = "websocket" } = {}) {
  const admin = h.createClient(server, { nsp: "/admin", auth, mode });
  const seen = {};
  for (const event of [
    "session",
    "config",
    "all_sockets",
    "server_stats",
    "socket_connected",
    "socket_updated",
    "socket_disconnected",
    "room_joined",
    "room_left",
    "event_received",
    "event_sent",
  ]) {
    seen[event] = h.collector(admin, event);
  }
  await h.waitConnected(admin, mode);
  return { admin, seen };
}

const first = h.firstCollected;

let basic;
h.before(async () => {
  basic = await start({ ADMIN_SERVER_ID: "node-a" });
});

test("wrong credentials are refused with the UI's message", async () => {
  for (const auth of [{ username: "admin", password: "wrong" }, { username: "root", password: "changeit" }, {}]) {
    const admin = h.createClient(basic, { nsp: "/admin", auth });
    const [err] = await h.once(admin, "connect_error", h.DEFAULT_TIMEOUT_MS, { rejectOn: ["connect"] });
    assert.match(err.message, /invalid credentials|authentication failed/);
  }
});

test("a login gets its config and every connected socket", async () => {
  const user = await h.connect(basic, { mode: "polling" });
  const { seen } = await openAdmin(basic);
  const [config] = await first(seen.config, () => true);
  for (const feature of ["EMIT", "JOIN", "LEAVE", "DISCONNECT", "MJOIN", "MLEAVE", "MDISCONNECT", "AGGREGATED_EVENTS", "ALL_EVENTS"]) {
    assert.ok(config.supportedFeatures.includes(feature), `${feature} in ${config.supportedFeatures}`);
  }
  const [sockets] = await first(seen.all_sockets, () => true);
  const listed = sockets.find((s) => s.id === user.id);
  assert.ok(listed, "the user's socket is listed");
  assert.equal(listed.nsp, "/");
  assert.equal(listed.transport, "polling");
  assert.equal(typeof listed.clientId, "string");
  assert.ok(listed.rooms.includes(user.id), "a socket is in the room named by its id");
  assert.equal(typeof listed.handshake.address, "string");
  assert.equal(listed.handshake.query.EIO, "4");
  assert.ok(!("auth" in listed.handshake), "auth is never shown");
});

test("a basic login's session id lets the UI in again without the password", async (t) => {
  if (h.flavour() === "python") {
    t.skip("python-socketio's credentials have no sessions (checked on each connect)");
    return;
  }
  const { seen } = await openAdmin(basic);
  const [sessionId] = await first(seen.session, () => true);
  assert.equal(typeof sessionId, "string");
  const again = h.createClient(basic, { nsp: "/admin", auth: { sessionId } });
  await h.waitConnected(again, "websocket");
  const forged = h.createClient(basic, { nsp: "/admin", auth: { sessionId: "0123456789abcdef" } });
  const [err] = await h.once(forged, "connect_error", h.DEFAULT_TIMEOUT_MS, { rejectOn: ["connect"] });
  assert.equal(err.message, "invalid credentials");
});

test("server_stats reports this node, its namespaces and its traffic per second", async () => {
  const { seen } = await openAdmin(basic);
  const user = await h.connect(basic, { mode: "polling" });
  await h.emitWithAck(user, "join", "stats-room");
  const [stats] = await first(
    seen.server_stats,
    (s) => s.aggregatedEvents.some((e) => e.type === "packetsIn") && s.pollingClientsCount >= 1,
    STATS_WAIT_MS,
  );
  assert.equal(stats.serverId, "node-a");
  assert.equal(typeof stats.hostname, "string");
  assert.equal(typeof stats.pid, "number");
  assert.equal(typeof stats.uptime, "number");
  assert.ok(stats.clientsCount >= 2, `clientsCount ${stats.clientsCount}`);
  const root = stats.namespaces.find((n) => n.name === "/");
  assert.ok(root && root.socketsCount >= 1, JSON.stringify(stats.namespaces));
  assert.ok(stats.namespaces.some((n) => n.name === "/admin"));
  for (const e of stats.aggregatedEvents) {
    assert.equal(e.timestamp % 1000, 0, "counts are per second");
    assert.ok(e.count > 0);
  }
  // Counts are drained by each report: over the reports, the user's connection and its
  // packets (the join and its ack) were counted.
  const all = seen.server_stats.all.flatMap(([s]) => s.aggregatedEvents);
  const total = (type) => all.filter((e) => e.type === type).reduce((n, e) => n + e.count, 0);
  assert.ok(total("rawConnection") >= 1, "rawConnection");
  assert.ok(total("packetsIn") >= 1 && total("bytesIn") > 0, "packetsIn / bytesIn");
  assert.ok(total("packetsOut") >= 1 && total("bytesOut") > 0, "packetsOut / bytesOut");
});

for (const mode of h.MODES) {
  test(`[${mode}] the live feed: connected, rooms, events both ways, disconnected`, async () => {
    const { seen } = await openAdmin(basic);
    const user = await h.connect(basic, { mode });
    const [connected, at] = await first(seen.socket_connected, (s) => s.id === user.id);
    assert.equal(connected.nsp, "/");
    assert.ok(!Number.isNaN(Date.parse(at)), `a timestamp: ${at}`);

    const room = h.unique("feed");
    await h.emitWithAck(user, "join", room);
    await first(seen.room_joined, (nsp, r, id) => nsp === "/" && r === room && id === user.id);
    const [, , args] = await first(seen.event_received, (nsp, id, a) => id === user.id && a[0] === "join");
    assert.deepEqual(args.slice(0, 2), ["join", room]);

    await h.emitWithAck(user, "emit-to", { rooms: user.id, event: "feed-out", args: [42] });
    const [, , sent] = await first(seen.event_sent, (nsp, id, a) => id === user.id && a[0] === "feed-out");
    assert.deepEqual(sent, ["feed-out", 42]);

    if (mode === "upgrade") {
      await first(seen.socket_updated, (s) => s.id === user.id && s.transport === "websocket");
    }

    const userId = user.id; // the client forgets it on disconnect
    user.disconnect();
    const [, , reason] = await first(seen.socket_disconnected, (nsp, id) => id === userId);
    assert.equal(reason, "client namespace disconnect");
    await first(seen.room_left, (nsp, r, id) => r === room && id === userId);
  });
}

test("the UI's commands: emit to a room, join, leave, disconnect", async () => {
  const { admin } = await openAdmin(basic);
  const [a, b] = await h.connectMany(basic, 2);
  const room = h.unique("cmd");
  await h.emitWithAck(a, "join", room);

  const got = h.once(a, "from-admin");
  const notB = h.expectNothing(b, "from-admin", 500);
  admin.emit("emit", "/", room, "from-admin", 1, { two: 2 });
  assert.deepEqual(await got, [1, { two: 2 }]);
  await notB;

  const joined = h.unique("joined");
  admin.emit("join", "/", joined, room);
  const roomsOf = async (s) => h.emitWithAck(s, "rooms");
  await waitUntil(async () => (await roomsOf(a)).includes(joined));
  assert.ok(!(await roomsOf(b)).includes(joined), "only the filtered room's sockets join");

  admin.emit("leave", "/", joined);
  await waitUntil(async () => !(await roomsOf(a)).includes(joined));

  const gone = h.once(a, "disconnect");
  admin.emit("_disconnect", "/", false, room);
  const [reason] = await gone;
  assert.equal(reason, "io server disconnect");
  assert.equal(b.connected, true, "a socket outside the filter stays");
});

/** Polls a condition through round trips (each one an ack), bounded. */
async function waitUntil(condition, timeoutMs = h.DEFAULT_TIMEOUT_MS) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
  }
}

test("read-only: no commands offered, none obeyed", async () => {
  const server = await start({ ADMIN_READONLY: "1" });
  const { admin, seen } = await openAdmin(server);
  const [config] = await first(seen.config, () => true);
  assert.deepEqual(config.supportedFeatures, ["AGGREGATED_EVENTS", "ALL_EVENTS"]);
  const user = await h.connect(server);
  const silent = h.expectNothing(user, "from-admin", 500);
  admin.emit("emit", "/", null, "from-admin", 1);
  admin.emit("_disconnect", "/", true);
  await silent;
  assert.equal(user.connected, true);
});

test("production mode: aggregated counts only, no per-socket feed", async () => {
  const server = await start({ ADMIN_MODE: "production" });
  const { seen } = await openAdmin(server);
  const [config] = await first(seen.config, () => true);
  assert.ok(!config.supportedFeatures.includes("ALL_EVENTS"));
  assert.ok(config.supportedFeatures.includes("AGGREGATED_EVENTS"));
  const user = await h.connect(server);
  await h.emitWithAck(user, "join", "prod");
  await first(seen.server_stats, (s) => s.aggregatedEvents.some((e) => e.type === "packetsIn"), STATS_WAIT_MS);
  assert.equal(seen.all_sockets.all.length, 0, "no socket list");
  assert.equal(seen.socket_connected.all.length, 0, "no live feed");
  assert.equal(seen.room_joined.all.length, 0, "no live feed");
});

test("no login: anyone may open the admin namespace", async () => {
  const server = await start({ ADMIN: "none" });
  const { seen } = await openAdmin(server, { auth: {} });
  await first(seen.config, () => true);
});
