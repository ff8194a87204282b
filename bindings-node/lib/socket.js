"use strict";

// socket.io's server-side Socket over a NativeSocket. `emit` sends to the client; listeners
// (`on`) receive the client's events, `disconnecting` and `disconnect`.

const { EventEmitter } = require("node:events");
const { encode, decode, withBinaries } = require("./codec");
const { track } = require("./data");
const { BroadcastOperator } = require("./operator");
const { report, warn, guarded } = require("./report");
const { runChain } = require("./chain");
const { roomList } = require("./rooms");

const localEmit = EventEmitter.prototype.emit;

/** Calls every listener of `event` (once-listeners included), isolating failures; resolves
 *  when the promises they returned have settled. */
function runListeners(emitter, event, args, where) {
  const pending = [];
  for (const listener of emitter.rawListeners(event)) {
    const p = guarded(emitter.server, where, listener, emitter, args);
    if (p) pending.push(p);
  }
  return pending.length ? Promise.all(pending) : null;
}

/** socket.io builds the handshake from `conn.request`: when an `io.engine` `connection`
 *  listener removed it (as for a WebTransport session, which has none), the handshake has no
 *  headers and no query, and counts as secure. */
function withoutRequest(handshake, socket) {
  const conns = socket.server._conns;
  if (conns.size === 0) return handshake;
  const conn = conns.get(socket._native.engineId());
  const removed = conn && (!Object.prototype.hasOwnProperty.call(conn, "request") || (conn._session && conn.request == null));
  if (!removed) return handshake;
  return { ...handshake, headers: {}, query: {}, xdomain: false, secure: true, url: undefined };
}

class Socket extends EventEmitter {
  constructor(nsp, native) {
    super({ captureRejections: true });
    this.nsp = nsp;
    this.server = nsp.server;
    this.id = native.id;
    this.flags = {};
    this._native = native;
    this._connected = false;
    /** Disconnection is under way: events that arrive now are dropped, as socket.io does. */
    this._leaving = false;
    /** Whether this connection resumed a dropped session (id, rooms and data restored). */
    this.recovered = native.recovered();
    this._data = this.recovered ? JSON.parse(native.data()) : {};
    this._dataView = undefined;
    this._handshake = undefined;
    this._fns = [];
    this._anyListeners = undefined;
    this._anyOutgoingListeners = undefined;
    this._conn = undefined;
  }

  /** The first HTTP request of the connection, as socket.io describes it. */
  get handshake() {
    if (!this._handshake) this._handshake = withoutRequest(JSON.parse(this._native.handshake()), this);
    return this._handshake;
  }

  /** A snapshot of the rooms the socket is in (its own id included). */
  get rooms() {
    return new Set(this._native.rooms());
  }

  get connected() {
    return this._connected && this._native.connected();
  }

  get disconnected() {
    return !this.connected;
  }

  /**
   * Arbitrary data attached to the socket, visible to fetchSockets(). Writes — at any depth
   * of plain objects and arrays — are synced to the server as JSON at the end of the current
   * microtask turn.
   */
  get data() {
    if (this._dataView === undefined) this._dataView = track(this._data, () => this.server._dataSync.mark(this));
    return this._dataView;
  }

  set data(value) {
    this._data = value;
    this._dataView = undefined;
    this.server._dataSync.mark(this);
  }

  /** The underlying connection (engine.io's Socket, in part): an EventEmitter shared by the
   *  connection's sockets (see lib/conn.js). */
  get conn() {
    if (!this._conn) this._conn = this.server._connOf(this);
    return this._conn;
  }

  /** socket.io's Client: the connection, its first request and its sockets. */
  get client() {
    const socket = this;
    return {
      get conn() {
        return socket.conn;
      },
      get request() {
        return socket.request;
      },
      /** The sockets of this connection, by id, in every namespace. */
      get sockets() {
        return socket.server._socketsOnConn(socket);
      },
    };
  }

  /** A description of the first HTTP request (headers, url); not a live IncomingMessage. */
  get request() {
    const h = this.handshake;
    return { headers: h.headers, url: h.url, method: "GET", connection: { remoteAddress: h.address }, socket: { remoteAddress: h.address } };
  }

  // ---- sending ----

  /**
   * Sends an event to the client. A function as last argument receives the client's
   * acknowledgement: `(...args)`, or `(err, ...args)` after `socket.timeout(ms)`.
   */
  emit(event, ...args) {
    const flags = this.flags;
    this.flags = {};
    if (typeof args[args.length - 1] === "function") {
      const ack = args.pop();
      const where = `the acknowledgement callback of "${event}" to socket ${this.id}`;
      const withTimeout = typeof flags.timeout === "number";
      this._emitWithAck(event, args, flags, (err, response) => {
        if (withTimeout) guarded(this.server, where, ack, this, err ? [err] : [null, ...response]);
        // Without a timeout socket.io never calls the callback when no answer comes.
        else if (!err) guarded(this.server, where, ack, this, response);
      });
      return true;
    }
    const { json, binaries } = encode(args);
    this._native.emit(event, json, binaries, flags.volatile === true, flags.compress !== false);
    this.server._sent();
    return true;
  }

  /** Resolves with the client's first acknowledgement argument; rejects on timeout or
   *  disconnection. */
  emitWithAck(event, ...args) {
    const flags = this.flags;
    this.flags = {};
    return new Promise((resolve, reject) => {
      this._emitWithAck(event, args, flags, (err, response) => (err ? reject(err) : resolve(response[0])));
    });
  }

  _emitWithAck(event, args, { timeout, compress }, done) {
    const { json, binaries } = encode(args);
    const server = this.server;
    const token = server._expect((record) => {
      if (record.error) done(new Error(record.error));
      else done(null, decode(record.args));
    });
    let sent;
    try {
      sent = this._native.emitWithAck(event, json, binaries, typeof timeout === "number" ? timeout : undefined, token, compress !== false);
      server._sent();
    } catch (err) {
      server._forget(token);
      throw err;
    }
    if (!sent) {
      server._forget(token);
      process.nextTick(() => done(new Error("socket disconnected before the acknowledgement arrived")));
    }
  }

  send(...args) {
    this.emit("message", ...args);
    return this;
  }

  write(...args) {
    return this.send(...args);
  }

  get volatile() {
    this.flags.volatile = true;
    return this;
  }

  compress(compress) {
    this.flags.compress = Boolean(compress);
    return this;
  }

  timeout(ms) {
    this.flags.timeout = ms;
    return this;
  }

  // ---- rooms and broadcasting ----

  join(rooms) {
    // After a disconnection the socket has left every room for good; joining again would
    // leave rooms behind that nothing removes.
    if (this._connected && !this._native.connected()) return;
    this._native.join(roomList(rooms));
  }

  leave(room) {
    this._native.leave(String(room));
  }

  /** Leaves every room, the socket's own id included (as socket.io does on disconnect). */
  leaveAll() {
    this._native.leaveAll();
  }

  _broadcastOperator() {
    const flags = this.flags;
    this.flags = {};
    return new BroadcastOperator(this.nsp, new Set(), new Set([this.id]), flags);
  }

  /** Every other socket of the namespace. */
  get broadcast() {
    return this._broadcastOperator();
  }

  get local() {
    return this._broadcastOperator().local;
  }

  to(room) {
    return this._broadcastOperator().to(room);
  }

  in(room) {
    return this._broadcastOperator().in(room);
  }

  except(room) {
    return this._broadcastOperator().except(room);
  }

  /** Leaves the namespace; with `close`, the whole connection closes. */
  disconnect(close = false) {
    if (close || !this._connected || this._leaving) {
      this._leaving = true;
      if (this._connected) this._native.disconnect(Boolean(close));
      return this;
    }
    // As socket.io: the socket has left (its `disconnecting` and `disconnect` listeners have
    // run, its rooms are gone) when this returns, so a client that hears the DISCONNECT finds
    // it gone.
    this._leaving = true;
    this.server._leaveNow(this, "server namespace disconnect", () => this._native.disconnectNow());
    return this;
  }

  // ---- middlewares and catch-all listeners ----

  /** A packet middleware: `(packet, next)`; `next(err)` drops the event and emits `error`. */
  use(fn) {
    this._fns.push(fn);
    return this;
  }

  onAny(listener) {
    this._anyListeners = this._anyListeners || [];
    this._anyListeners.push(listener);
    return this;
  }

  prependAny(listener) {
    this._anyListeners = this._anyListeners || [];
    this._anyListeners.unshift(listener);
    return this;
  }

  offAny(listener) {
    if (!this._anyListeners) return this;
    if (listener) this._anyListeners = this._anyListeners.filter((l) => l !== listener);
    else this._anyListeners = [];
    return this;
  }

  listenersAny() {
    return this._anyListeners ? this._anyListeners.slice() : [];
  }

  /** Sees every event sent to this socket, broadcasts included. Called in order, before the
   *  socket's next incoming event is handled (not synchronously inside `emit`). */
  onAnyOutgoing(listener) {
    this._anyOutgoingListeners = this._anyOutgoingListeners || [];
    this._anyOutgoingListeners.push(listener);
    this._native.setNotifyOutgoing(true);
    return this;
  }

  prependAnyOutgoing(listener) {
    this._anyOutgoingListeners = this._anyOutgoingListeners || [];
    this._anyOutgoingListeners.unshift(listener);
    this._native.setNotifyOutgoing(true);
    return this;
  }

  offAnyOutgoing(listener) {
    if (!this._anyOutgoingListeners) return this;
    if (listener) this._anyOutgoingListeners = this._anyOutgoingListeners.filter((l) => l !== listener);
    else this._anyOutgoingListeners = [];
    if (this._anyOutgoingListeners.length === 0) this._native.setNotifyOutgoing(false);
    return this;
  }

  listenersAnyOutgoing() {
    return this._anyOutgoingListeners ? this._anyOutgoingListeners.slice() : [];
  }

  // An "error" listener asks the core for the connection's protocol errors (emitted here
  // before the connection closes, as socket.io does); without one nobody pays for them.
  on(event, listener) {
    if (event === "error") this._native.setNotifyConn(true);
    return super.on(event, listener);
  }

  addListener(event, listener) {
    return this.on(event, listener);
  }

  once(event, listener) {
    if (event === "error") this._native.setNotifyConn(true);
    return super.once(event, listener);
  }

  prependListener(event, listener) {
    if (event === "error") this._native.setNotifyConn(true);
    return super.prependListener(event, listener);
  }

  prependOnceListener(event, listener) {
    if (event === "error") this._native.setNotifyConn(true);
    return super.prependOnceListener(event, listener);
  }

  [Symbol.for("nodejs.rejection")](err, event) {
    report(this.server, err, `the "${String(event)}" listener of socket ${this.id} on ${this.nsp.name}`);
  }

  // ---- driven by the server's dispatcher ----

  /**
   * An event from the client: `args` parsed, `ackId` (a decimal string) when the client asked
   * for an acknowledgement, `binaries` its attachments.
   */
  _onEvent(name, rawArgs, ackId, binaries) {
    if (this._leaving) return;
    let args;
    try {
      args = withBinaries(rawArgs, binaries);
    } catch (err) {
      warn(this.server, err, `decoding "${name}" for socket ${this.id}`);
      return;
    }
    if (typeof ackId === "string") {
      let sent = false;
      args.push((...response) => {
        if (sent) return;
        sent = true;
        const { json, binaries: attached } = encode(response);
        this._native.sendAck(ackId, json, attached);
        this.server._sent();
      });
    }
    const packet = [name, ...args];
    if (this._fns.length === 0) {
      this._dispatch(packet);
      return;
    }
    this._runMiddlewares(packet, (err) => {
      if (err) this._onPacketError(err);
      else if (!this._leaving) this._dispatch(packet);
    });
  }

  _runMiddlewares(packet, done) {
    runChain(this._fns, this, packet, done, (e) => e || new Error("socket middleware rejected"));
  }

  _onPacketError(err) {
    if (this.listenerCount("error") > 0) {
      try {
        localEmit.call(this, "error", err);
      } catch (e) {
        report(this.server, e, `the "error" listener of socket ${this.id}`);
      }
    } else {
      report(this.server, err, `a socket.use() middleware of socket ${this.id} (no "error" listener)`);
    }
  }

  _dispatch(packet) {
    if (this._anyListeners && this._anyListeners.length) {
      for (const listener of this._anyListeners.slice()) {
        guarded(this.server, `an onAny listener of socket ${this.id}`, listener, this, packet);
      }
    }
    try {
      localEmit.apply(this, packet);
    } catch (err) {
      report(this.server, err, `the "${packet[0]}" listener of socket ${this.id} on ${this.nsp.name}`);
    }
  }

  _onOutgoing(record) {
    const listeners = this._anyOutgoingListeners;
    if (!listeners || listeners.length === 0) return;
    let args;
    try {
      args = decode(record.args);
    } catch (err) {
      warn(this.server, err, `decoding outgoing "${record.name}" of socket ${this.id}`);
      return;
    }
    for (const listener of listeners.slice()) {
      guarded(this.server, `an onAnyOutgoing listener of socket ${this.id}`, listener, this, [record.name, ...args]);
    }
  }

  /** Runs the `disconnecting` listeners; the rooms are kept until they (and their promises)
   *  are done. */
  _onDisconnecting(reason) {
    return runListeners(this, "disconnecting", [reason], `a "disconnecting" listener of socket ${this.id}`);
  }

  /** The client broke the protocol (the connection closes right after): `error`, as
   *  socket.io emits it. */
  _onProtocolError(message) {
    if (this.listenerCount("error") === 0) return;
    try {
      localEmit.call(this, "error", new Error(message));
    } catch (err) {
      report(this.server, err, `the "error" listener of socket ${this.id}`);
    }
  }

  _onDisconnect(reason) {
    this._connected = false;
    if (this._conn) this._conn._socketGone(this, reason);
    runListeners(this, "disconnect", [reason], `a "disconnect" listener of socket ${this.id}`);
  }
}

module.exports = { Socket, runListeners, localEmit };
