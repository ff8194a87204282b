"use strict";

// Namespaces: io.of(name | RegExp | function), connection middlewares (next(err) with
// err.data), dynamic namespaces and new_namespace, async connection handlers.

const { before, after } = require("node:test");
const assert = require("node:assert/strict");
const h = require("./helpers");
const { test } = h;

let io;
before(() => {
  io = h.startServer();
});
after(() => h.cleanup());

test("io.of(name): a namespace of its own, with its own sockets and broadcasts", async () => {
  const chat = io.of("/chat");
  assert.equal(io.of("chat"), chat, "the leading slash is optional");
  const connection = h.nextConnection(chat);
  const client = await h.connect(io, { nsp: "/chat" });
  const socket = await connection;
  assert.equal(socket.nsp, chat);
  assert.equal(chat.sockets.get(socket.id), socket);
  const hi = h.once(client, "hi");
  chat.emit("hi", "Hello everyone!");
  assert.deepEqual(await hi, ["Hello everyone!"]);
  assert.equal(io.sockets.sockets.has(socket.id), false);
});

test("an unknown namespace is refused with \"Invalid namespace\"", async () => {
  const client = h.client(io, { nsp: "/nowhere" });
  const [err] = await h.once(client, "connect_error");
  assert.equal(err.message, "Invalid namespace");
});

test("nsp.use: next(err) refuses with message and data; next() lets the socket in", async () => {
  const guarded = io.of("/guarded");
  const seen = [];
  guarded.use((socket, next) => {
    seen.push(socket.handshake.auth.token);
    socket.data.checked = true;
    setTimeout(() => {
      if (socket.handshake.auth.token === "secret") return next();
      const err = new Error("unauthorized");
      err.data = { reason: "bad token", code: 401 };
      next(err);
    }, 5);
  });
  guarded.use(async (socket, next) => {
    await h.sleep(1);
    next();
  });
  const refused = h.client(io, { nsp: "/guarded", auth: { token: "wrong" } });
  const [err] = await h.once(refused, "connect_error");
  assert.equal(err.message, "unauthorized");
  assert.deepEqual(err.data, { reason: "bad token", code: 401 });

  const connection = h.nextConnection(guarded);
  await h.connect(io, { nsp: "/guarded", auth: { token: "secret" } });
  const socket = await connection;
  assert.deepEqual(socket.data, { checked: true }, "data set in a middleware is kept");
  assert.deepEqual(seen, ["wrong", "secret"]);
});

test("a middleware that throws refuses the connection with its message", async () => {
  const nsp = io.of("/throwing-mw");
  const reported = [];
  const previous = io._onHandlerError;
  io._onHandlerError = (err) => reported.push(err.message);
  try {
    nsp.use(() => {
      throw new Error("boom");
    });
    const client = h.client(io, { nsp: "/throwing-mw" });
    const [err] = await h.once(client, "connect_error");
    assert.equal(err.message, "boom");
    assert.deepEqual(reported, ["boom"]);
  } finally {
    io._onHandlerError = previous;
  }
});

test("io.of(RegExp): children created on first connection, once, and kept", async () => {
  const parent = io.of(/^\/dyn-\d+$/);
  const created = [];
  io.on("new_namespace", (nsp) => created.push(nsp.name));
  parent.use((socket, next) => {
    socket.data.viaParent = true;
    next();
  });
  parent.on("connection", (socket) => socket.emit("where", socket.nsp.name, socket.data.viaParent));
  try {
    const first = h.client(io, { nsp: "/dyn-1" });
    assert.deepEqual(await h.once(first, "where"), ["/dyn-1", true]);
    const again = h.client(io, { nsp: "/dyn-1" });
    assert.deepEqual(await h.once(again, "where"), ["/dyn-1", true]);
    const other = h.client(io, { nsp: "/dyn-22" });
    assert.deepEqual(await h.once(other, "where"), ["/dyn-22", true]);
    assert.deepEqual(created, ["/dyn-1", "/dyn-22"]);
    assert.deepEqual([...parent.children].map((c) => c.name).sort(), ["/dyn-1", "/dyn-22"]);
    assert.equal(io.of("/dyn-1"), [...parent.children].find((c) => c.name === "/dyn-1"));

    // a broadcast on the parent reaches every child
    const a = h.once(first, "all");
    const b = h.once(other, "all");
    parent.emit("all", "children");
    assert.deepEqual(await a, ["children"]);
    assert.deepEqual(await b, ["children"]);

    const bad = h.client(io, { nsp: "/dyn-x" });
    assert.equal((await h.once(bad, "connect_error"))[0].message, "Invalid namespace");
  } finally {
    io.sockets.removeAllListeners("new_namespace");
  }
});

test("io.of(function): the predicate decides, asynchronously, with the auth payload", async () => {
  const asked = [];
  io.of((name, auth, next) => {
    asked.push([name, auth]);
    setTimeout(() => next(null, name.startsWith("/pred-") && auth.ok === true), 5);
  }).on("connection", (socket) => socket.emit("pred", socket.nsp.name));
  const ok = h.client(io, { nsp: "/pred-a", auth: { ok: true } });
  assert.deepEqual(await h.once(ok, "pred"), ["/pred-a"]);
  const no = h.client(io, { nsp: "/pred-b", auth: { ok: false } });
  assert.equal((await h.once(no, "connect_error"))[0].message, "Invalid namespace");
  assert.deepEqual(asked[0], ["/pred-a", { ok: true }]);
});

test("an async connection handler: events sent right after connect wait for it, in order", async () => {
  const nsp = io.of("/slow-start");
  nsp.on("connection", async (socket) => {
    await h.sleep(50);
    socket.on("n", (i, ack) => ack(i));
  });
  const client = await h.connect(io, { nsp: "/slow-start" });
  const answers = await Promise.all([1, 2, 3, 4, 5].map((i) => client.timeout(2000).emitWithAck("n", i)));
  assert.deepEqual(answers, [1, 2, 3, 4, 5]);
});

test("io.use applies to the default namespace", async () => {
  const other = h.startServer();
  other.use((socket, next) => next(socket.handshake.auth.pass ? undefined : new Error("no pass")));
  const refused = h.client(other);
  assert.equal((await h.once(refused, "connect_error"))[0].message, "no pass");
  await h.connect(other, { auth: { pass: 1 } });
});

/** A CONNECT to a name no parent accepts, on a server with dynamic parents: JavaScript
 *  answers the match, after every record the core queued before (removal notices). */
async function probe(server) {
  const client = h.client(server, { nsp: "/probe-matches-no-parent" });
  await h.once(client, "connect_error");
  client.disconnect();
}

test("a dynamic child whose client a middleware refused stays, as in socket.io; pattern characters are refused", async () => {
  const parent = io.of(/^\/members-.*$/);
  parent.use((socket, next) => {
    if (socket.nsp.name.startsWith("/members-no-")) return next(new Error("not a member"));
    next();
  });
  const before = io._native.stats().namespaces;
  for (let i = 0; i < 3; i++) {
    const client = h.client(io, { nsp: `/members-no-${i}` });
    const [err] = await h.once(client, "connect_error");
    assert.equal(err.message, "not a member");
    client.disconnect();
  }
  await probe(io);
  assert.equal(io._native.stats().namespaces, before + 3);
  for (let i = 0; i < 3; i++) {
    const child = io._nsps.get(`/members-no-${i}`);
    assert.ok(child, `/members-no-${i} is kept`);
    assert.equal(child.sockets.size, 0);
    assert.ok(parent.children.has(child));
  }

  const bad = h.client(io, { nsp: "/members-*" });
  const [err] = await h.once(bad, "connect_error");
  assert.equal(err.message, "Invalid namespace");
  assert.match(err.data.reason, /may not contain/);
  bad.disconnect();

  await h.connect(io, { nsp: "/members-yes" });
  assert.equal(io._native.stats().namespaces, before + 4);
  assert.ok(io._nsps.has("/members-yes"));
});

test("maxChildNamespaces: refused CONNECTs to new names evict the oldest child nobody joined; JS wrappers stay at the cap", async () => {
  const server = h.startServer({ maxChildNamespaces: 5 });
  const parent = server.of(/^\/flood-.*$/);
  parent.use((socket, next) => (socket.nsp.name.startsWith("/flood-no-") ? next(new Error("no")) : next()));
  const created = [];
  server.on("new_namespace", (nsp) => created.push(nsp.name));
  const before = server._native.stats().namespaces;
  const member = await h.connect(server, { nsp: "/flood-member" });
  member.disconnect();
  for (let i = 0; i < 40; i++) {
    const client = h.client(server, { nsp: `/flood-no-${i}` });
    assert.equal((await h.once(client, "connect_error"))[0].message, "no", `/flood-no-${i}`);
    client.disconnect();
  }
  await probe(server);
  const children = () => [...server._nsps.keys()].filter((n) => n.startsWith("/flood-")).sort();
  assert.equal(server._native.stats().namespaces, before + 5);
  assert.deepEqual(children(), ["/flood-member", "/flood-no-36", "/flood-no-37", "/flood-no-38", "/flood-no-39"]);
  assert.equal(parent.children.size, 5);
  assert.equal(created.length, 41, "every child was announced");

  // A legitimate client still gets a new child (the oldest refused one makes room).
  await h.connect(server, { nsp: "/flood-new" });
  await probe(server);
  assert.equal(server._native.stats().namespaces, before + 5);
  assert.deepEqual(children(), ["/flood-member", "/flood-new", "/flood-no-37", "/flood-no-38", "/flood-no-39"]);
  assert.equal(parent.children.size, 5);
});

test("maxChildNamespaces: at the cap with only joined children, a new name is refused with \"Too many namespaces\"", async () => {
  const server = h.startServer({ maxChildNamespaces: 2 });
  server.of(/^\/full-\d+$/);
  await h.connect(server, { nsp: "/full-1" });
  const second = await h.connect(server, { nsp: "/full-2" });
  second.disconnect();
  const client = h.client(server, { nsp: "/full-3" });
  assert.equal((await h.once(client, "connect_error"))[0].message, "Too many namespaces");
  assert.ok(server._nsps.has("/full-1") && server._nsps.has("/full-2"), "joined children are never evicted");
  assert.equal(server._nsps.has("/full-3"), false);
});

test("cleanupEmptyChildNamespaces: a child whose only client a middleware refused is removed", async () => {
  const server = h.startServer({ cleanupEmptyChildNamespaces: true });
  const parent = server.of(/^\/guarded-\d+$/);
  const created = [];
  server.on("new_namespace", (nsp) => {
    created.push(nsp.name);
    // A middleware on the child itself, as socket.io's tests add one in new_namespace.
    nsp.use((socket, next) => (socket.handshake.auth.ok ? next() : next(new Error("refused"))));
  });
  const before = server._native.stats().namespaces;
  for (const ok of [false, true, false]) {
    const client = h.client(server, { nsp: "/guarded-1", auth: { ok } });
    if (ok) {
      await h.once(client, "connect");
      assert.ok(server._nsps.has("/guarded-1"));
      const gone = h.once(parent.children.values().next().value.sockets.values().next().value, "disconnect");
      client.disconnect();
      await gone;
    } else {
      assert.equal((await h.once(client, "connect_error"))[0].message, "refused");
      client.disconnect();
    }
    await probe(server);
    assert.equal(server._nsps.has("/guarded-1"), false, `after a ${ok ? "departed" : "refused"} client`);
    assert.equal(parent.children.size, 0);
    assert.equal(server._native.stats().namespaces, before);
  }
  assert.deepEqual(created, ["/guarded-1", "/guarded-1", "/guarded-1"]);
});

test("io.of(name) under a matching RegExp parent is its child: the parent's middlewares, connection listeners and emits", async () => {
  const server = h.startServer();
  const parent = server.of(/^\/dynamic-\d+$/);
  const seen = [];
  parent.use((socket, next) => {
    seen.push(`middleware ${socket.nsp.name}`);
    socket.data.checked = true;
    next();
  });
  parent.on("connection", (socket) => seen.push(`connection ${socket.nsp.name} ${socket.data.checked}`));
  const created = [];
  server.on("new_namespace", (nsp) => created.push(nsp.name));

  const child = server.of("/dynamic-101");
  assert.ok(parent.children.has(child), "attached to the parent");
  assert.equal(server.of("/dynamic-101"), child, "the same namespace on the next call");
  assert.deepEqual(created, ["/dynamic-101"]);
  // Not matching: a namespace of its own. A function parent does not adopt names (socket.io
  // asks it per client, with the auth payload).
  server.of(() => true);
  const other = server.of("/static");
  assert.equal([...parent.children].includes(other), false);

  const client = await h.connect(server, { nsp: "/dynamic-101" });
  assert.deepEqual(seen, ["middleware /dynamic-101", "connection /dynamic-101 true"]);
  assert.equal(child.sockets.size, 1);
  const hello = h.once(client, "hello");
  parent.emit("hello", 1, "2");
  assert.deepEqual(await hello, [1, "2"]);
});

test("a namespace created with io.of(name) under a parent stays when a middleware refuses its only client", async () => {
  const server = h.startServer();
  const parent = server.of(/^\/kept-\d+$/);
  parent.use((socket, next) => next(new Error("refused")));
  const child = server.of("/kept-1");
  const client = h.client(server, { nsp: "/kept-1" });
  assert.equal((await h.once(client, "connect_error"))[0].message, "refused");
  client.disconnect();
  // The refusal's cleanup has run by the time a later CONNECT is answered.
  const probe = h.client(server, { nsp: "/kept-2" });
  await h.once(probe, "connect_error");
  probe.disconnect();
  assert.equal(server.of("/kept-1"), child);
  assert.ok(server._nsps.has("/kept-1"));
  assert.ok(parent.children.has(child));
});

test("a dynamic child without middlewares admits its sockets in the core: one JavaScript round trip, for its first client only", async () => {
  const server = h.startServer({ cleanupEmptyChildNamespaces: true });
  const parent = server.of(/^\/fast-\d+$/);
  const asked = [];
  const onAuthorize = server._onAuthorize.bind(server);
  server._onAuthorize = (record) => {
    asked.push(record.nsp);
    onAuthorize(record);
  };
  const connected = [];
  parent.on("connection", (socket) => connected.push(socket.nsp.name));
  await h.connect(server, { nsp: "/fast-1" });
  await h.connect(server, { nsp: "/fast-1" });
  await h.connect(server, { nsp: "/fast-1" });
  assert.deepEqual(connected, ["/fast-1", "/fast-1", "/fast-1"]);
  // The first CONNECT is asked for: a new_namespace listener could have added a middleware.
  assert.deepEqual(asked, ["/fast-1"]);

  // A middleware added to the child later runs for its next clients.
  server.of("/fast-1").use((socket, next) => next(new Error("closed now")));
  const late = h.client(server, { nsp: "/fast-1" });
  assert.equal((await h.once(late, "connect_error"))[0].message, "closed now");
  late.disconnect();
  assert.deepEqual(asked, ["/fast-1", "/fast-1"]);
});
