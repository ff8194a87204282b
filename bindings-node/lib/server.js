"use strict";

// socket.io's Server: options, namespaces, attaching / listening, closing — and the
// dispatcher that turns the native layer's batches of records into listener calls.

const { normalizeAdminOptions } = require("./admin");
const fs = require("node:fs");
const net = require("node:net");
const native = require("./native");
const { HttpBridge } = require("./attach");
const { OwnListener } = require("./own-listener");
const { findClientDist } = require("./client-bundle");
const { DataSync } = require("./data");
const { Namespace, ParentNamespace } = require("./namespace");
const { normalize } = require("./options");
const { report, warn } = require("./report");
const { Socket, localEmit } = require("./socket");
const { Conn } = require("./conn");
const { pemOf } = require("./tls-takeover");
const { Engine, describeRequest } = require("./engine");

/** EventEmitter methods of the server act on the default namespace, as in socket.io. */
const FORWARDED_EMITTER_METHODS = [
  "on",
  "once",
  "off",
  "addListener",
  "prependListener",
  "prependOnceListener",
  "removeListener",
  "removeAllListeners",
  "setMaxListeners",
];
const FORWARDED_EMITTER_QUERIES = ["listeners", "rawListeners", "listenerCount", "eventNames", "getMaxListeners"];

function isPort(value) {
  return typeof value === "number" || (typeof value === "string" && value !== "" && String(Number(value)) === value);
}

class Server {
  /**
   * `new Server()`, `new Server(port, opts)`, `new Server(httpServer, opts)`, `new Server(opts)`.
   */
  constructor(srv, opts) {
    if (srv !== null && typeof srv === "object" && typeof srv.listen !== "function" && opts === undefined) {
      opts = srv;
      srv = undefined;
    }
    const { options, native: nativeOptions } = normalize(opts || {});
    this._userOptions = { ...(opts || {}) };
    this.opts = options;
    this._onHandlerError = options.onHandlerError;
    this._catchHandlerErrors = Boolean(options.catchHandlerErrors);
    this._nativeOptions = nativeOptions;
    this._adapter = options.adapter;
    this._native = new native.NativeServer(nativeOptions);
    this._wakeups = this._watchWakeups(this._native);
    /** Every namespace by name, dynamic children included (the same field as socket.io's). */
    this._nsps = new Map();
    this._handlers = new Map();
    this._parentNsps = new Map();
    this._lastHandler = 0;
    this._lastToken = 0;
    this._pending = new Map();
    this._dataSync = new DataSync((err, socket) => report(this, err, `serialising socket.data of ${socket.id}`));
    this._bridge = null;
    this._port = null;
    this._closing = null;
    this._closed = false;
    this._liveSockets = 0;
    /** `socket.conn` objects by Engine.IO id, made on first access. */
    this._conns = new Map();
    this._turnEnding = false;
    this._endTurn = () => {
      this._turnEnding = false;
      native.endHostTurn();
    };
    /** The fallback drain of a held batch (see `_drain`). */
    this._heldRetry = null;
    this._retryHeld = () => {
      this._heldRetry = null;
      this._drain();
    };
    this._onAllDisconnected = null;
    this.httpServer = undefined;
    this._engine = new Engine(this);
    this.sockets = this.of("/");
    this._clientDist = options.serveClient ? findClientDist() : null;
    this._configureNative();
    if (options.serveClient) {
      if (!this._clientDist && opts && opts.serveClient) {
        process.emitWarning(
          "roomcast: serveClient is on but socket.io-client is not installed; install it to serve <path>socket.io.js",
          { type: "RoomcastWarning", code: "ROOMCAST_NO_CLIENT_BUNDLE" },
        );
      }
    }
    if (srv !== undefined && srv !== null) this.attach(srv);
  }

  // ---- configuration (fixed at construction) ----

  path() {
    return this.opts.path;
  }

  serveClient() {
    return this.opts.serveClient;
  }

  connectTimeout() {
    return this.opts.connectTimeout;
  }

  /** engine.io's Server, in part: `clientsCount`, `opts` and its connection events (see
   *  lib/engine.js). */
  get engine() {
    return this._engine;
  }

  /** socket.io's other name for `engine`. */
  get eio() {
    return this.engine;
  }

  /** Server-wide native settings (set again when the native server is recreated). */
  _configureNative() {
    if (typeof this.opts.allowRequest === "function") this._native.enableAllowRequest();
    if (this._admin) this._native.instrument(this._admin);
    this._engine._configure(this._native);
    if (this._clientDist) {
      try {
        this._native.serveClientDist(this._clientDist.dir, this._clientDist.version);
      } catch (err) {
        // A broken socket.io-client install costs the bundle, not the server.
        process.emitWarning(err.message, { type: "RoomcastWarning", code: "ROOMCAST_NO_CLIENT_BUNDLE" });
        this._clientDist = null;
      }
    }
  }

  // ---- adapter ----

  /**
   * `io.adapter(createAdapter(url))` sets the adapter (the Redis adapter: a cluster);
   * `io.adapter()` returns the current one (undefined: in-memory).
   *
   * The core gives every namespace its adapter when the namespace is created, so the native
   * server is recreated here, with the namespaces, middlewares and listeners registered so far.
   * That is only possible before the server serves anyone: call it before `listen()` (or
   * before the attached http.Server accepts its first Socket.IO client), or pass
   * `{ adapter }` to the constructor.
   */
  adapter(value) {
    if (arguments.length === 0) return this._adapter;
    const redis = require("./adapter").nativeAdapter(value);
    if (this._closing) throw new Error("roomcast: this server is closed; create a new one");
    const busy =
      this._port !== null ||
      this._native.stats().sessions > 0 ||
      [...this._parentNsps.values()].some((p) => p.children.size > 0);
    if (busy) {
      throw new Error(
        "roomcast: io.adapter() must be called before the server listens or serves a client; " +
          "call it right after new Server(), or pass { adapter } to the constructor",
      );
    }
    this._rebuildNative({ ...this._nativeOptions, redis });
    this._adapter = value;
    return this;
  }

  /** A fresh native server with `nativeOptions`, the namespaces, middlewares and listeners
   *  registered so far (only possible while nobody is served: before listening, or after
   *  close()). Dynamic children are dropped: their parents create them again on demand. */
  _rebuildNative(nativeOptions) {
    const fresh = new native.NativeServer(nativeOptions);
    for (const [name, nsp] of this._nsps) {
      if (nsp._parent) {
        nsp._parent.children.delete(nsp);
        this._nsps.delete(name);
      }
    }
    // Same handler ids, same order: the records of the new server reach the same objects.
    for (const [handlerId, handler] of this._handlers) {
      if (this._parentNsps.has(handlerId)) fresh.registerDynamic(handlerId);
      else handler._native = fresh.registerNamespace(handler.name, handlerId);
      if (handler._fns.length) fresh.setHasMiddlewares(handlerId, true);
    }
    const old = this._native;
    this._native = fresh;
    this._wakeups.destroy();
    this._wakeups = this._watchWakeups(fresh);
    this._nativeOptions = nativeOptions;
    this._configureNative();
    // The replaced server serves nobody; closing it releases its namespaces at once.
    if (!this._closed) old.close(0);
  }

  /** After close() is done: a server that can listen or attach again, as socket.io's can. */
  _reopen() {
    this._rebuildNative(this._nativeOptions);
    this._closing = null;
    this._closed = false;
    this._bridge = null;
    this._port = null;
    this._host = undefined;
    this._conns.clear();
    this.httpServer = undefined;
  }

  // ---- monitoring ----

  /**
   * Serves the Socket.IO admin UI (https://admin.socket.io) and reports this server to it:
   * `instrument(io, options)` of `@socket.io/admin-ui`, with its options. The admin namespace
   * belongs to the core from then on (`io.of()` refuses its name). Runs once per server.
   */
  instrument(opts) {
    if (this._admin) throw new Error("roomcast: the server is already instrumented for the admin UI");
    const admin = normalizeAdminOptions(opts);
    if (this._nsps.has(admin.namespace)) {
      throw new Error(`roomcast: instrument() serves ${admin.namespace} itself; it must not be created with io.of() first`);
    }
    this._native.instrument(admin);
    this._admin = admin;
  }

  // ---- namespaces ----

  /**
   * The namespace `name` (created on first use), or a dynamic namespace for a RegExp or a
   * function `(name, auth, next) => next(null, accept)`.
   */
  of(name, fn) {
    if (typeof name === "function" || name instanceof RegExp) {
      const handlerId = ++this._lastHandler;
      const parent = new ParentNamespace(this, name, handlerId);
      this._handlers.set(handlerId, parent);
      this._parentNsps.set(handlerId, parent);
      this._native.registerDynamic(handlerId);
      if (fn) parent.on("connect", fn);
      return parent;
    }
    if (typeof name !== "string") throw new TypeError("roomcast: io.of() takes a name, a RegExp or a function");
    if (!name.startsWith("/")) name = `/${name}`;
    if (this._admin && name === this._admin.namespace) {
      throw new Error(`roomcast: ${name} is the admin UI's namespace, served by instrument()`);
    }
    let nsp = this._nsps.get(name);
    if (nsp && nsp._parent) {
      // A child a client's CONNECT created is the server's from now on: never evicted. Its
      // wrapper may be of one the core has just removed (the notice is on its way).
      const parent = nsp._parent;
      const native = this._native.attachChild(parent._handlerId, name);
      if (native && !nsp._native.isSame(native)) {
        this._forgetChild(nsp);
        nsp = this._addChild(parent, name, native);
      }
    }
    if (!nsp) {
      // As socket.io: a name a RegExp parent matches becomes that parent's child (its
      // middlewares and connection listeners, reached by its emits). Function parents are
      // asked per client, with the auth payload, so they do not adopt names here.
      for (const parent of this._parentNsps.values()) {
        if (!(parent._matcher instanceof RegExp) || !parent._matcher.test(name)) continue;
        const native = this._native.attachChild(parent._handlerId, name);
        if (!native) break;
        const child = this._addChild(parent, name, native);
        if (fn) child.on("connect", fn);
        return child;
      }
      const handlerId = ++this._lastHandler;
      nsp = new Namespace(this, name, this._native.registerNamespace(name, handlerId), handlerId);
      this._nsps.set(name, nsp);
      this._handlers.set(handlerId, nsp);
      if (this.sockets) localEmit.call(this.sockets, "new_namespace", nsp);
    }
    if (fn) nsp.on("connect", fn);
    return nsp;
  }

  /** A connection middleware of the default namespace. */
  use(fn) {
    this.sockets.use(fn);
    return this;
  }

  // ---- the default namespace's broadcasting ----

  to(room) {
    return this.sockets.to(room);
  }

  in(room) {
    return this.sockets.in(room);
  }

  except(room) {
    return this.sockets.except(room);
  }

  emit(event, ...args) {
    this.sockets.emit(event, ...args);
    return true;
  }

  emitWithAck(event, ...args) {
    return this.sockets.emitWithAck(event, ...args);
  }

  send(...args) {
    this.sockets.send(...args);
    return this;
  }

  write(...args) {
    return this.send(...args);
  }

  compress(compress) {
    return this.sockets.compress(compress);
  }

  get volatile() {
    return this.sockets.volatile;
  }

  get local() {
    return this.sockets.local;
  }

  timeout(ms) {
    return this.sockets.timeout(ms);
  }

  fetchSockets() {
    return this.sockets.fetchSockets();
  }

  socketsJoin(room) {
    this.sockets.socketsJoin(room);
  }

  socketsLeave(room) {
    this.sockets.socketsLeave(room);
  }

  disconnectSockets(close = false) {
    this.sockets.disconnectSockets(close);
  }

  serverSideEmit(event, ...args) {
    return this.sockets.serverSideEmit(event, ...args);
  }

  serverSideEmitWithAck(event, ...args) {
    return this.sockets.serverSideEmitWithAck(event, ...args);
  }

  allSockets() {
    return this.sockets.allSockets();
  }

  // ---- serving ----

  /**
   * A port: roomcast's own listener (HTTP and WebSocket served by Rust). An http.Server (or
   * https.Server, or the server of an express app): requests under the path go to roomcast,
   * others to the app.
   */
  attach(srv, opts) {
    if (this._closed) this._reopen();
    if (this._closing) {
      throw new Error("roomcast: this server is closing; listen or attach again once close() has called back");
    }
    if (opts !== undefined && opts !== null && typeof opts === "object" && Object.keys(opts).length) this._mergeOptions(opts);
    if (isPort(srv)) return this._listen(Number(srv));
    if (srv && typeof srv.on === "function" && typeof srv.listeners === "function") {
      if (this._bridge || this._port !== null) throw new Error("roomcast: this server is already attached or listening");
      this.httpServer = srv;
      this._bridge = new HttpBridge(this, srv, this.opts);
      if (this._nativeOptions.routeSessions) this._routeSessionsOf(srv);
      return this;
    }
    throw new TypeError("roomcast: attach()/listen() takes a port number or an http.Server");
  }

  listen(srv, opts) {
    return this.attach(srv, opts);
  }

  /** No sticky sessions when attached: the other nodes reach this one at the http.Server's
   *  address, known once it listens. */
  _routeSessionsOf(srv) {
    const apply = () => {
      const where = srv.address();
      if (!where || typeof where !== "object") return;
      try {
        this._native.routeSessionsAt(where.address, where.port);
      } catch (err) {
        report(this, err, "the routeSessions option");
      }
    };
    if (srv.listening) apply();
    else srv.once("listening", apply);
  }

  /** `attach(srv, opts)`: opts are merged over the constructor's, as socket.io does. The native
   *  server takes its options once, so it is rebuilt; that is only possible before it serves. */
  _mergeOptions(opts) {
    if (this._bridge || this._port !== null || this._native.stats().sessions > 0) {
      throw new Error("roomcast: this server is already attached or listening");
    }
    const { options, native: nativeOptions } = normalize({ ...this._userOptions, ...opts });
    this._userOptions = { ...this._userOptions, ...opts };
    this.opts = options;
    this._onHandlerError = options.onHandlerError;
    this._catchHandlerErrors = Boolean(options.catchHandlerErrors);
    this._rebuildNative({ ...nativeOptions, redis: this._nativeOptions.redis });
  }

  _listen(port) {
    if (this._bridge || this._port !== null) throw new Error("roomcast: this server is already attached or listening");
    const host = this.opts.host;
    if (this.opts.tls) {
      const { key, cert } = this.opts.tls;
      this._native.setTls(pemOf(cert, false), pemOf(key, true));
    }
    if (host !== undefined) {
      this._port = this._native.listen(String(host), port);
    } else {
      // All interfaces, as Node's listen(port) does: IPv6 (dual stack) when the host has it.
      try {
        this._port = this._native.listen("::", port);
        this._host = "::";
      } catch (err) {
        if (/in use/i.test(String(err && err.message))) throw err;
        this._port = this._native.listen("0.0.0.0", port);
        this._host = "0.0.0.0";
      }
    }
    if (host !== undefined) this._host = String(host);
    this.httpServer = new OwnListener(this);
    // While roomcast listens on its own port, its wake-ups keep the process alive.
    this._wakeups.ref();
    return this;
  }

  /** Where the server's own listener is bound, like net.Server#address(); null otherwise. */
  address() {
    if (this._port === null) return this._bridge ? this.httpServer.address() : null;
    const family = this._host.includes(":") ? "IPv6" : "IPv4";
    return { address: this._host, family, port: this._port };
  }

  /**
   * Disconnects every socket ("server shutting down"), closes every connection and the
   * listener (or the attached http.Server). Afterwards nothing of roomcast keeps the process
   * alive. `fn` gets the attached http.Server's close error, if any.
   */
  close(fn) {
    if (!this._closing) {
      // As socket.io's close(), before anything else happens: every socket is disconnected
      // (its listeners run now, io.sockets.sockets is empty) and the attached http.Server stops
      // listening, so a client that hears its disconnect finds the port free. The core frees
      // its own listener's port before it tells any client.
      this._disconnectAll("server shutting down");
      // The attached http.Server no longer holds the process open: the close's own completion
      // must, or a process with nothing else to do would exit halfway through it.
      this._wakeups.ref();
      const httpClosed = this._bridge ? new Promise((resolve) => this.httpServer.close((err) => resolve(err))) : undefined;
      this._closing = new Promise((resolve) => {
        const token = this._expect(() => resolve());
        this._native.close(token);
      })
        .then(() => this._allDisconnected())
        .then(() => {
          this._closed = true;
          // Every disconnect has been delivered (or the bounded wait is over): nothing is
          // left for roomcast to deliver, so it no longer holds the process open.
          this._wakeups.destroy();
          if (!this._bridge) {
            if (this.httpServer) this.httpServer._released();
            return undefined;
          }
          this._bridge.dropLeftovers();
          if (typeof this.httpServer.closeIdleConnections === "function") this.httpServer.closeIdleConnections();
          return httpClosed;
        });
    }
    return this._closing.then((err) => {
      if (typeof fn === "function") fn(err);
    });
  }

  /** Runs every connected socket's `disconnecting` and `disconnect` listeners with `reason` and
   *  removes it from its namespace now; the core's later records for it find nobody. */
  _disconnectAll(reason) {
    for (const nsp of this._nsps.values()) {
      for (const socket of [...nsp.sockets.values()]) this._leaveNow(socket, reason);
    }
  }

  /** Runs `socket`'s `disconnecting` listeners, has the core take it out of its rooms
   *  (`leave`, when given), removes it from its namespace and runs its `disconnect`
   *  listeners, all now; the core's later records for it find nobody. */
  _leaveNow(socket, reason, leave) {
    socket._onDisconnecting(reason);
    if (leave) leave();
    socket.nsp.sockets.delete(socket.id);
    this._liveSockets -= 1;
    socket._onDisconnect(reason);
    this._release();
  }

  /** Resolves once every socket's `disconnect` listeners have run (as socket.io's close()
   *  guarantees before its callback), or after a bounded wait. */
  _allDisconnected() {
    if (this._liveSockets === 0) return undefined;
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, 2000);
      this._onAllDisconnected = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** Wakes a close() waiting for the last disconnect. */
  _release() {
    if (this._liveSockets === 0 && this._onAllDisconnected) {
      const done = this._onAllDisconnected;
      this._onAllDisconnected = null;
      done();
    }
  }

  // ---- plumbing ----

  /** Something was sent in this event-loop turn: the core hears when the turn is over, so
   *  a volatile packet sent in the same turn as another is dropped (engine.io's `writable`
   *  only comes back in a later turn). */
  _sent() {
    if (this._turnEnding) return;
    this._turnEnding = true;
    setImmediate(this._endTurn);
  }

  _nextToken() {
    this._lastToken += 1;
    return this._lastToken;
  }

  /** A token whose completion record calls `fn`. */
  _expect(fn) {
    const token = this._nextToken();
    this._pending.set(token, fn);
    return token;
  }

  _forget(token) {
    this._pending.delete(token);
  }

  /**
   * Watches a native server's wake-up channel: a byte arrives whenever records are waiting.
   * Unreferenced (an idle server does not keep the process alive) until `listen`.
   */
  _watchWakeups(nativeServer) {
    const channel = new net.Socket({ fd: nativeServer.takeWakeFd(), readable: true, writable: false });
    channel.unref();
    channel.on("data", () => this._drain());
    channel.on("end", () => channel.destroy());
    channel.on("error", (err) => warn(this, err, "reading roomcast's wake-up channel"));
    return channel;
  }

  _drain() {
    if (this._heldRetry) {
      clearTimeout(this._heldRetry);
      this._heldRetry = null;
    }
    let records;
    try {
      records = this._native.drain();
    } catch (err) {
      warn(this, err, "draining events");
      return;
    }
    if (records.length === 1 && records[0].kind === "held") {
      // The batch waits for bytes its clients already sent behind it: the core wakes us once
      // it has handled them; the timer is a fallback.
      this._heldRetry = setTimeout(this._retryHeld, 1);
      return;
    }
    // socket.io handles an event a tick after its packet arrived and drops it when the
    // socket was disconnected meanwhile: an event a client sent right before leaving is not
    // handled. The same here for every socket that leaves in this batch.
    for (const record of records) {
      if (record.kind === "disconnecting" || record.kind === "disconnect") {
        const socket = this._socketOf(record);
        if (socket) socket._leaving = true;
      }
    }
    for (const record of records) {
      try {
        this._dispatch(record);
      } catch (err) {
        warn(this, err, `handling a "${record.kind}" event`);
      }
    }
  }

  /** The namespace of a socket record; a dynamic child is created on first sight. */
  _namespaceOf(record) {
    const nsp = this._nsps.get(record.nsp);
    if (nsp) return nsp;
    const parent = this._parentNsps.get(record.handler);
    if (!parent || !record.socket) return undefined;
    return this._addChild(parent, record.nsp, record.socket.namespace());
  }

  _addChild(parent, name, nativeNsp) {
    const child = parent._createChild(name, nativeNsp);
    this._nsps.set(name, child);
    try {
      localEmit.call(this.sockets, "new_namespace", child);
    } finally {
      // The child's chain is known now (the parent's, plus what the listeners added): the
      // core admits its sockets without asking here when it is empty.
      nativeNsp.setHasMiddlewares(child._fns.length > 0);
    }
    return child;
  }

  /** The `conn` of a new Engine.IO session (`io.engine`'s `connection`); its sockets share it. */
  _engineConn(record, request) {
    const conn = new Conn(this, record.engine, null, {
      transport: record.transport,
      protocol: record.protocol,
      address: record.address,
      request,
    });
    this._conns.set(record.engine, conn);
    return conn;
  }

  /** The shared `conn` of a socket's connection. */
  _connOf(socket) {
    const id = socket._native.engineId();
    let conn = this._conns.get(id);
    if (!conn) {
      conn = new Conn(this, id, socket);
      this._conns.set(id, conn);
    }
    conn._add(socket);
    return conn;
  }

  /** Every connected socket on the same connection as `socket`, by id (socket.io's
   *  `client.sockets`). */
  _socketsOnConn(socket) {
    const id = socket._native.engineId();
    const found = new Map();
    for (const nsp of this._nsps.values()) {
      for (const s of nsp.sockets.values()) if (s._native.engineId() === id) found.set(s.id, s);
    }
    if (!found.has(socket.id)) found.set(socket.id, socket);
    return found;
  }

  _socketOf(record) {
    const nsp = this._nsps.get(record.nsp);
    return nsp && nsp.sockets.get(record.sid);
  }

  /** A run of client events: one JSON text of [nsp, sid, name, args, ack, binStart, binCount]. */
  _onEvents(record) {
    const entries = JSON.parse(record.args.json);
    const binaries = record.args.binaries;
    for (const e of entries) {
      try {
        const nsp = this._nsps.get(e[0]);
        const socket = nsp && nsp.sockets.get(e[1]);
        if (!socket) continue;
        socket._onEvent(e[2], e[3], e[4], e.length > 5 ? binaries.slice(e[5], e[5] + e[6]) : undefined);
      } catch (err) {
        warn(this, err, `handling a "${e[2]}" event`);
      }
    }
  }

  _dispatch(record) {
    switch (record.kind) {
      case "events":
        return this._onEvents(record);
      case "conn": {
        if (record.name === "error") {
          const socket = this._socketOf(record) || this._authorizingSocket(record);
          if (socket) socket._onProtocolError(record.reason);
          return;
        }
        const conn = this._conns.get(record.engine);
        if (conn) conn._fromCore(record.name, record.reason, record.args, record.compress);
        return;
      }
      case "outgoing": {
        const socket = this._socketOf(record);
        if (socket) socket._onOutgoing(record);
        return;
      }
      case "ack":
      case "broadcastAck":
      case "sockets":
      case "serverSideAck":
      case "closed": {
        const fn = this._pending.get(record.token);
        if (!fn) return;
        this._pending.delete(record.token);
        fn(record);
        return;
      }
      case "authorize":
        return this._onAuthorize(record);
      case "connection":
        return this._onConnection(record);
      case "disconnecting":
        return this._onDisconnecting(record);
      case "disconnect":
        return this._onDisconnect(record);
      case "match":
        return this._onMatch(record);
      case "namespace": {
        const parent = this._parentNsps.get(record.parent);
        if (!parent || !record.namespace) return;
        const known = this._nsps.get(record.name);
        if (known && !(known._parent && !known._native.isSame(record.namespace))) return;
        // A wrapper of an earlier child of that name whose removal notice is still on its way.
        if (known) this._forgetChild(known);
        this._addChild(parent, record.name, record.namespace);
        return;
      }
      case "namespaceRemoved": {
        const nsp = this._nsps.get(record.name);
        // A fresh child of the same name may have its wrapper already: that one stays.
        if (nsp && nsp._parent && nsp._native.isSame(record.namespace)) this._forgetChild(nsp);
        return;
      }
      case "serverSideEmit": {
        const nsp = this._nsps.get(record.nsp);
        if (nsp) nsp._onServerSideEmit(record);
        return;
      }
      case "http":
        if (this._bridge) this._bridge.respond(record);
        return;
      case "wsData":
        if (this._bridge) this._bridge.wsData(record);
        return;
      case "wsEnd":
        if (this._bridge) this._bridge.wsEnd(record);
        return;
      case "wsResume":
        if (this._bridge) this._bridge.wsResume(record);
        return;
      case "tlsConnection":
        if (this._bridge) this._bridge.tlsConnection(record);
        else fs.closeSync(record.connection.fd);
        return;
      case "allowRequest":
        return this._onAllowRequest(record);
      case "engineConnection":
      case "engineClose":
      case "engineError":
      case "engineHeaders":
        return this._engine._dispatch(record);
      default:
        warn(this, new Error(`unknown record kind ${record.kind}`), "the dispatcher");
    }
  }

  /** A socket whose middlewares passed and whose connection has not arrived yet. */
  _authorizingSocket(record) {
    const nsp = this._nsps.get(record.nsp);
    return nsp && nsp._authorized.get(record.sid);
  }

  _onAuthorize(record) {
    const nsp = this._namespaceOf(record);
    if (!nsp) {
      this._native.answerAuthorize(record.token, undefined, undefined);
      return;
    }
    const socket = new Socket(nsp, record.socket);
    nsp._authorizing += 1;
    nsp._authorize(socket, (err) => {
      nsp._authorizing -= 1;
      if (err) {
        let data;
        if (err.data !== undefined) {
          try {
            data = JSON.stringify(err.data);
          } catch (e) {
            report(this, e, `serialising err.data of a middleware of ${nsp.name}`);
          }
        }
        const message = typeof err.message === "string" ? err.message : String(err);
        this._native.answerAuthorize(record.token, message, data);
        return;
      }
      nsp._authorized.set(socket.id, socket);
      this._native.answerAuthorize(record.token, undefined, undefined);
      // A client that vanished meanwhile never gets a connection record.
      setTimeout(() => {
        if (nsp._authorized.get(socket.id) === socket && !socket._native.connected()) nsp._authorized.delete(socket.id);
      }, 30000).unref();
    });
  }

  /** The core removed or evicted this dynamic child (cleanupEmptyChildNamespaces, or
   *  maxChildNamespaces reached): its wrapper goes too, so `_nsps` stays within the cap. */
  _forgetChild(nsp) {
    nsp._parent.children.delete(nsp);
    this._nsps.delete(nsp.name);
  }

  _onConnection(record) {
    // A socket admitted while close() ran is not announced: the core closes it unconnected.
    const nsp = this._closing ? undefined : this._namespaceOf(record);
    if (!nsp) {
      this._native.answerDone(record.token);
      return;
    }
    let socket = nsp._authorized.get(record.sid);
    if (socket) nsp._authorized.delete(record.sid);
    else socket = new Socket(nsp, record.socket);
    // A connection `io.engine` announced learns of its sockets (for its events and `close`).
    if (this._conns.size > 0 && this._conns.has(socket._native.engineId())) void socket.conn;
    this._liveSockets += 1;
    // CONNECT goes out now, and the connection handler runs before anything else does.
    socket._native.announce();
    this._sent();
    // The core holds this socket's events until the answer: none can miss a listener that
    // the connection handler registers, even after an await.
    const pending = nsp._connect(socket);
    if (pending) pending.then(() => this._native.answerDone(record.token));
    else this._native.answerDone(record.token);
  }

  _onDisconnecting(record) {
    const socket = this._socketOf(record);
    const pending = socket ? socket._onDisconnecting(record.reason) : null;
    if (pending) pending.then(() => this._native.answerDone(record.token));
    else this._native.answerDone(record.token);
  }

  _onDisconnect(record) {
    const nsp = this._nsps.get(record.nsp);
    const socket = nsp && nsp.sockets.get(record.sid);
    if (!socket) return;
    nsp.sockets.delete(record.sid);
    this._liveSockets -= 1;
    socket._onDisconnect(record.reason);
    this._release();
  }

  /** socket.io's `allowRequest(req, callback)`; `req` describes the handshake request (its
   *  headers, url and address), it is not a live IncomingMessage. */
  _onAllowRequest(record) {
    const req = describeRequest(record);
    let answered = false;
    const answer = (err, success) => {
      if (answered) return;
      answered = true;
      this._native.answerAllowRequest(record.token, !err && Boolean(success));
    };
    try {
      this.opts.allowRequest(req, answer);
    } catch (err) {
      report(this, err, "the allowRequest option");
      answer(err, false);
    }
  }

  _onMatch(record) {
    const parent = this._parentNsps.get(record.handler);
    if (!parent) {
      this._native.answerMatch(record.token, false);
      return;
    }
    let auth;
    try {
      auth = JSON.parse(record.auth);
    } catch {
      auth = {};
    }
    parent._match(record.name, auth, (accept) => this._native.answerMatch(record.token, accept));
  }
}

for (const method of FORWARDED_EMITTER_METHODS) {
  Server.prototype[method] = function forwarded(...args) {
    this.sockets[method](...args);
    return this;
  };
}
for (const method of FORWARDED_EMITTER_QUERIES) {
  Server.prototype[method] = function forwarded(...args) {
    return this.sockets[method](...args);
  };
}

module.exports = { Server };
