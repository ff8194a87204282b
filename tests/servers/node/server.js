"use strict";

// Node scenario server: the contract of tests/SCENARIOS.md written with roomcast's Node API.
// It is the reference server (servers/reference/server.js) with socket.io's import replaced by
// roomcast's, plus roomcast's own maxQueuedFrames option (MAX_QUEUED_FRAMES). In cluster mode
// (REDIS_URL) it uses roomcast's createAdapter, which opens its own Redis connections.

const fs = require("node:fs");
const http = require("node:http");
const path = require("node:path");
const { Server, createAdapter, createStreamsAdapter, createShardedAdapter } = require("./roomcast");

const SEED_PAGE = path.join(__dirname, "..", "..", "..", "examples", "seed.html");

function envNumber(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value)) {
    throw new Error(`${name} must be a number, got ${JSON.stringify(raw)}`);
  }
  return value;
}

function corsOptions() {
  const origin = process.env.CORS_ORIGIN;
  if (origin === undefined || origin === "") return undefined;
  const credentials = process.env.CORS_CREDENTIALS === "1";
  if (origin === "*") return { origin: "*", credentials };
  const list = origin.split(",").map((o) => o.trim()).filter(Boolean);
  return { origin: list, credentials };
}

const config = {
  port: envNumber("PORT", 0),
  host: process.env.HOST || "127.0.0.1",
  path: process.env.SIO_PATH || "/socket.io/",
  pingInterval: envNumber("PING_INTERVAL", 25000),
  pingTimeout: envNumber("PING_TIMEOUT", 20000),
  upgradeTimeout: envNumber("UPGRADE_TIMEOUT", 10000),
  maxHttpBufferSize: envNumber("MAX_HTTP_BUFFER_SIZE", 1e6),
  connectTimeout: envNumber("CONNECT_TIMEOUT", 45000),
  transports: (process.env.TRANSPORTS || "polling,websocket")
    .split(",")
    .map((t) => t.trim())
    .filter(Boolean),
  cors: corsOptions(),
};

const seedPage = fs.readFileSync(SEED_PAGE);

const httpServer = http.createServer((req, res) => {
  // socket.io intercepts its own path (and the client bundle) before this handler runs
  const url = new URL(req.url, "http://localhost");
  if (req.method === "GET" && (url.pathname === "/" || url.pathname === "/index.html")) {
    res.writeHead(200, {
      "content-type": "text/html; charset=utf-8",
      "content-length": seedPage.length,
    });
    res.end(seedPage);
    return;
  }
  res.writeHead(404, { "content-type": "text/plain" });
  res.end("not found");
});

const NODE_NAME = process.env.NODE_NAME || "reference";

const io = new Server(httpServer, {
  path: config.path,
  serveClient: true,
  pingInterval: config.pingInterval,
  pingTimeout: config.pingTimeout,
  upgradeTimeout: config.upgradeTimeout,
  maxHttpBufferSize: config.maxHttpBufferSize,
  connectTimeout: config.connectTimeout,
  transports: config.transports,
  cors: config.cors,
  // roomcast: the bound of a connection's outbound queue (its slow-consumer policy)
  maxQueuedFrames: envNumber("MAX_QUEUED_FRAMES", 65536),
  // roomcast: no sticky sessions (ROUTE_SESSIONS=1 with REDIS_URL)
  ...(process.env.ROUTE_SESSIONS === "1" && process.env.REDIS_URL ? { routeSessions: { url: process.env.REDIS_URL } } : {}),
  maxQueuedBytes: envNumber("MAX_QUEUED_BYTES", 64 * 1024 * 1024),
  allowEIO3: process.env.ALLOW_EIO3 === "1",
  perMessageDeflate: process.env.PER_MESSAGE_DEFLATE === "1",
  cleanupEmptyChildNamespaces: process.env.CLEANUP_EMPTY_CHILDREN === "1",
  ...(process.env.ALLOW_ORIGIN
    ? { allowRequest: (req, cb) => setTimeout(() => cb(null, req.headers.origin === process.env.ALLOW_ORIGIN), 1) }
    : {}),
  ...(process.env.PARSER === "msgpack" ? { parser: require("socket.io-msgpack-parser") } : {}),
  ...(process.env.RECOVERY === "1"
    ? {
        connectionStateRecovery: {
          maxDisconnectionDuration: envNumber("RECOVERY_MS", 120000),
          skipMiddlewares: true,
        },
      }
    : {}),
});

if (process.env.REDIS_URL) {
  // Cluster mode, in socket.io's order: the adapter is set after new Server(), before listening.
  const options = { url: process.env.REDIS_URL, requestsTimeout: envNumber("REQUESTS_TIMEOUT", 5000) };
  if (process.env.REDIS_ADAPTER === "sharded") {
    // REDIS_URL: the cluster's nodes, comma-separated.
    io.adapter(createShardedAdapter(process.env.REDIS_URL.split(",").map((u) => u.trim()), {
      subscriptionMode: process.env.SUBSCRIPTION_MODE || "dynamic",
      requestsTimeout: options.requestsTimeout,
    }));
  } else {
    io.adapter(process.env.REDIS_ADAPTER === "streams" ? createStreamsAdapter(options) : createAdapter(options));
  }
}


// The admin UI (ADMIN=basic: login admin / changeit; ADMIN=none: no login), set up after the
// adapter as the npm package needs.
const ADMIN_PASSWORD_HASH = "$2a$04$Nuhbtc8R0U8W77mJV6FSBektPVo6XIgJMnjwupIk9Z0PxTLNeVaRS";
if (process.env.ADMIN) {
  const { instrument } = require("./roomcast");
  instrument(io, {
    auth: process.env.ADMIN === "basic" ? { type: "basic", username: "admin", password: ADMIN_PASSWORD_HASH } : false,
    mode: process.env.ADMIN_MODE || "development",
    readonly: process.env.ADMIN_READONLY === "1",
    ...(process.env.ADMIN_SERVER_ID ? { serverId: process.env.ADMIN_SERVER_ID } : {}),
  });
}

// ---------------------------------------------------------------------------------------------
// helpers

const DEFAULT_ACK_TIMEOUT = 5000;

function sorted(iterable) {
  return [...iterable].sort();
}

function splitAck(args) {
  if (args.length > 0 && typeof args[args.length - 1] === "function") {
    return { args: args.slice(0, -1), ack: args[args.length - 1] };
  }
  return { args, ack: null };
}

/** Registers a handler whose last argument is the ack when the client asked for one. */
function handle(socket, event, fn) {
  socket.on(event, (...raw) => {
    const { args, ack } = splitAck(raw);
    fn(args, ack || (() => {}));
  });
}

function asRooms(value) {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}

function withRooms(operator, rooms, except) {
  let op = operator;
  if (rooms !== undefined && rooms !== null) op = op.to(rooms);
  if (except !== undefined && except !== null) op = op.except(except);
  return op;
}

function withFlags(operator, spec) {
  let op = operator;
  if (spec.volatile) op = op.volatile;
  if (spec.local) op = op.local;
  if (spec.compress !== undefined) op = op.compress(Boolean(spec.compress));
  return op;
}

function timeoutOf(spec) {
  return typeof spec.timeout === "number" ? spec.timeout : DEFAULT_ACK_TIMEOUT;
}

// `echo` needs to distinguish "with ack" from "without", so it does not use handle()
function registerEchoHandler(socket) {
  socket.on("echo", (...raw) => {
    const { args, ack } = splitAck(raw);
    if (ack) ack(...args);
    else socket.emit("echo", ...args);
  });
  // The arguments back twice with compress(false): to the socket, and through a broadcast.
  socket.on("echo-uncompressed", (...args) => {
    socket.compress(false).emit("echo", ...args);
    socket.nsp.to(socket.id).compress(false).emit("echo-room", ...args);
  });
}

function observers() {
  return io.of("/").to("observers");
}

/** Reports disconnections of any socket of any namespace to the `observers` room of `/`. */
function observe(socket) {
  socket.on("disconnecting", (reason) => {
    observers().emit("observed-disconnecting", {
      id: socket.id,
      nsp: socket.nsp.name,
      reason,
      rooms: sorted(socket.rooms),
    });
  });
  socket.on("disconnect", (reason) => {
    observers().emit("observed-disconnect", {
      id: socket.id,
      nsp: socket.nsp.name,
      reason,
      rooms: sorted(socket.rooms),
    });
  });
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

io.on("new_namespace", (nsp) => {
  observers().emit("observed-namespace", nsp.name);
});

// ---------------------------------------------------------------------------------------------
// namespace "/"

io.on("connection", (socket) => {
  const roomsAtConnect = sorted(socket.rooms);
  observe(socket);

  socket.use((packet, next) => {
    if (packet[0] === "forbidden") next(new Error("forbidden event"));
    else next();
  });
  socket.on("error", (err) => {
    socket.emit("use-error", err && err.message);
  });

  socket.onAny((event, ...raw) => {
    if (event === "any-probe") {
      const { args } = splitAck(raw);
      socket.emit("any-seen", event, ...args);
    }
  });

  let outgoingEchoes = 0;
  socket.onAnyOutgoing((event) => {
    if (event === "echo") outgoingEchoes += 1;
  });
  handle(socket, "outgoing-count", (args, ack) => ack(outgoingEchoes));

  registerEchoHandler(socket);

  handle(socket, "rooms-at-connect", (args, ack) => ack(roomsAtConnect));

  handle(socket, "join", ([rooms], ack) => {
    socket.join(rooms);
    ack(sorted(socket.rooms));
  });

  handle(socket, "leave", ([room], ack) => {
    socket.leave(room);
    ack(sorted(socket.rooms));
  });

  handle(socket, "rooms", (args, ack) => ack(sorted(socket.rooms)));

  handle(socket, "all-rooms", (args, ack) => ack(sorted(io.of("/").adapter.rooms.keys())));

  handle(socket, "emit-to", ([spec = {}], ack) => {
    const nspName = spec.nsp ?? "/";
    const nsp = io._nsps.get(nspName);
    if (!nsp) {
      ack(false);
      return;
    }
    let op = withRooms(nsp, spec.rooms, spec.except);
    op = withFlags(op, spec);
    op.emit(spec.event, ...(spec.args ?? []));
    ack(true);
  });

  handle(socket, "broadcast-to", ([spec = {}], ack) => {
    const op = withRooms(socket.broadcast, spec.rooms, spec.except);
    op.emit(spec.event, ...(spec.args ?? []));
    ack(true);
  });

  socket.on("say to someone", (id, msg) => {
    socket.broadcast.to(id).emit("my message", msg);
  });

  handle(socket, "ask", ([spec = {}], ack) => {
    socket.timeout(timeoutOf(spec)).emit(spec.event, ...(spec.args ?? []), (err, ...res) => {
      ack({ err: err ? err.message : null, res });
    });
  });

  handle(socket, "ask-all", ([spec = {}], ack) => {
    const op = withRooms(io, spec.rooms, spec.except).timeout(timeoutOf(spec));
    op.emit(spec.event, ...(spec.args ?? []), (err, res) => {
      const responses = [...(res ?? [])].sort((a, b) => {
        const ja = JSON.stringify(a);
        const jb = JSON.stringify(b);
        return ja < jb ? -1 : ja > jb ? 1 : 0;
      });
      ack({ err: err ? err.message : null, res: responses });
    });
  });

  handle(socket, "fetch", async ([spec = {}], ack) => {
    const sockets = await io.in(asRooms(spec.rooms)).fetchSockets();
    const list = sockets
      .map((s) => ({ id: s.id, rooms: sorted(s.rooms), data: s.data }))
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    ack(list);
  });

  handle(socket, "sockets-join", ([spec = {}], ack) => {
    io.in(asRooms(spec.rooms)).socketsJoin(spec.join);
    ack(true);
  });

  handle(socket, "sockets-leave", ([spec = {}], ack) => {
    io.in(asRooms(spec.rooms)).socketsLeave(spec.leave);
    ack(true);
  });

  handle(socket, "disconnect-sockets", ([spec = {}], ack) => {
    io.in(asRooms(spec.rooms)).disconnectSockets(Boolean(spec.close));
    ack(true);
  });

  handle(socket, "set-data", ([value], ack) => {
    socket.data.value = value;
    ack(true);
  });

  handle(socket, "disconnect-me", ([close]) => {
    socket.disconnect(Boolean(close));
  });

  handle(socket, "handshake", (args, ack) => {
    const h = socket.handshake;
    ack({
      query: { ...h.query },
      auth: h.auth,
      address: h.address,
      url: h.url,
      secure: h.secure,
      xdomain: h.xdomain,
      issued: typeof h.issued,
      time: typeof h.time,
      headers: {
        host: h.headers.host,
        "user-agent": typeof h.headers["user-agent"] === "string",
      },
    });
  });

  handle(socket, "binary", (args, ack) => {
    ack(...args);
    socket.emit("binary-back", ...args);
  });

  handle(socket, "double-ack", (args, ack) => {
    ack("first");
    ack("second");
  });

  handle(socket, "burst", ([spec = {}], ack) => {
    const count = Number(spec.count) || 0;
    const event = spec.event || "burst-item";
    for (let i = 0; i < count; i++) socket.emit(event, i);
    ack(count);
  });

  handle(socket, "count", (args, ack) => ack(io.of("/").sockets.size));

  handle(socket, "flood", ([spec = {}], ack) => {
    const filler = "x".repeat(Number(spec.size) || 0);
    const count = Number(spec.count) || 0;
    for (let i = 0; i < count; i++) io.to(spec.rooms).emit(spec.event || "flood", i, filler);
    ack(count);
  });

  handle(socket, "node-name", (args, ack) => ack(NODE_NAME));

  handle(socket, "recovered", (args, ack) => ack(Boolean(socket.recovered)));

  handle(socket, "stats", (args, ack) => {
    let sockets = 0;
    let rooms = 0;
    for (const nsp of io._nsps.values()) {
      sockets += nsp.sockets.size;
      rooms += nsp.adapter.rooms.size;
    }
    ack({ sessions: io.engine.clientsCount, sockets, rooms, namespaces: io._nsps.size });
  });

  handle(socket, "server-side-emit", ([spec = {}], ack) => {
    io.serverSideEmit(spec.event, ...(spec.args ?? []));
    ack(true);
  });

  handle(socket, "server-side-emit-ack", ([spec = {}], ack) => {
    io.serverSideEmit(spec.event, ...(spec.args ?? []), (err, res) => {
      ack({ err: err ? err.message : null, res: [...(res ?? [])].sort() });
    });
  });

  handle(socket, "all-rooms-cluster", async (args, ack) => {
    ack(sorted(await io.of("/").adapter.allRooms()));
  });
});

io.on("hello", (...args) => {
  const cb = typeof args[args.length - 1] === "function" ? args.pop() : null;
  io.local.to("observers").emit("observed-server-side", { node: NODE_NAME, args });
  if (cb) cb(`hi from ${NODE_NAME}`);
});

// ---------------------------------------------------------------------------------------------
// other namespaces

io.of("/my-namespace").on("connection", (socket) => {
  observe(socket);
  socket.nsp.emit("hi", "Hello everyone!");
});

const authNsp = io.of("/auth");
authNsp.use((socket, next) => {
  setTimeout(() => {
    const auth = socket.handshake.auth || {};
    if (auth.token === "secret") {
      next();
      return;
    }
    const err = new Error("unauthorized");
    err.data = { reason: "bad token" };
    next(err);
  }, 5);
});
io.of("/refused").use((socket, next) => {
  const err = new Error("refused");
  err.data = { reason: "sync" };
  next(err);
});
authNsp.on("connection", (socket) => {
  observe(socket);
  socket.emit("welcome", socket.handshake.auth);
});

io.of("/async").on("connection", async (socket) => {
  // socket.io dispatches an event to the listeners present when it arrives; the contract wants
  // events sent right after connect to reach listeners registered after the handler's first
  // await, so incoming events are held (in order) until the handler has finished.
  let ready = false;
  const held = [];
  socket.use((packet, next) => {
    if (ready) next();
    else held.push(next);
  });
  observe(socket);

  await sleep(50);
  registerEchoHandler(socket);

  ready = true;
  for (const next of held.splice(0)) next();
});

io.of(/^\/dyn-\d+$/).on("connection", (socket) => {
  observe(socket);
  registerEchoHandler(socket);
  socket.emit("dyn", socket.nsp.name);
});

io.of((name, auth, next) => {
  setTimeout(() => next(null, name.startsWith("/pred-")), 5);
}).on("connection", (socket) => {
  observe(socket);
  socket.emit("pred", socket.nsp.name);
});

// ---------------------------------------------------------------------------------------------
// process

let closing = false;
function shutdown() {
  if (closing) return;
  closing = true;
  const force = setTimeout(() => {
    httpServer.closeAllConnections();
    process.exit(0);
  }, 3000);
  force.unref();
  io.close(() => {
    process.exit(0);
  });
  // long-polling requests that are still open would otherwise delay the close callback
  setImmediate(() => httpServer.closeIdleConnections());
}

process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);

function startListening() {
  httpServer.listen(config.port, config.host, () => {
    process.stdout.write(`listening on ${httpServer.address().port}\n`);
  });
}

startListening();
