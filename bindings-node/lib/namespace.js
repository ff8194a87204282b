"use strict";

// socket.io's Namespace and ParentNamespace (dynamic namespaces) over a NativeNamespace.
// `emit` broadcasts; listeners receive `connection` / `connect` and server-side events.

const { EventEmitter } = require("node:events");
const { encode, decode } = require("./codec");
const { BroadcastOperator } = require("./operator");
const { report, warn, guarded, isThenable } = require("./report");
const { runChain } = require("./chain");
const { runListeners, localEmit } = require("./socket");

/** A read-only view of a namespace's rooms, shaped like socket.io-adapter's maps. */
class AdapterView {
  constructor(nsp) {
    this.nsp = nsp;
  }

  /** room → Set of socket ids (own-id rooms included). A snapshot. */
  get rooms() {
    const map = new Map();
    for (const { room, sids } of this.nsp._members()) map.set(room, new Set(sids));
    return map;
  }

  /** Every room of the namespace on every node of the cluster (this node's rooms with the
   *  in-memory adapter). Rejects after the adapter's requestsTimeout if a node does not answer. */
  async allRooms() {
    const natives = this.nsp._targets().map((n) => n._native).filter(Boolean);
    const lists = await Promise.all(natives.map((n) => n.allRooms()));
    return new Set(lists.flat());
  }

  /** socket id → Set of rooms. A snapshot. */
  get sids() {
    const map = new Map();
    for (const { room, sids } of this.nsp._members()) {
      for (const sid of sids) {
        if (!map.has(sid)) map.set(sid, new Set());
        map.get(sid).add(room);
      }
    }
    return map;
  }
}

class Namespace extends EventEmitter {
  constructor(server, name, native, handlerId) {
    super({ captureRejections: true });
    this.name = name;
    this.server = server;
    /** Connected sockets by id. */
    this.sockets = new Map();
    this.adapter = new AdapterView(this);
    this._native = native;
    this._handlerId = handlerId;
    this._fns = [];
    /** Sockets whose middlewares passed and whose connection has not arrived yet. */
    this._authorized = new Map();
    /** Sockets whose middlewares are running. */
    this._authorizing = 0;
  }

  /** The namespaces an operator created here reaches. */
  _targets() {
    return [this];
  }

  _members() {
    return this._native.rooms();
  }

  /** A connection middleware: `(socket, next)`; `next(err)` refuses the connection and the
   *  client's `connect_error` gets `err.message` and `err.data`. */
  use(fn) {
    this._fns.push(fn);
    // A dynamic child shares its parent's handler; its own chain is flagged on it alone.
    if (this._parent) this._native.setHasMiddlewares(true);
    else this.server._native.setHasMiddlewares(this._handlerId, true);
    return this;
  }

  to(room) {
    return new BroadcastOperator(this).to(room);
  }

  in(room) {
    return new BroadcastOperator(this).in(room);
  }

  except(room) {
    return new BroadcastOperator(this).except(room);
  }

  /** Emits to every socket of the namespace. */
  emit(event, ...args) {
    return new BroadcastOperator(this).emit(event, ...args);
  }

  emitWithAck(event, ...args) {
    return new BroadcastOperator(this).emitWithAck(event, ...args);
  }

  send(...args) {
    this.emit("message", ...args);
    return this;
  }

  write(...args) {
    return this.send(...args);
  }

  compress(compress) {
    return new BroadcastOperator(this).compress(compress);
  }

  get volatile() {
    return new BroadcastOperator(this).volatile;
  }

  get local() {
    return new BroadcastOperator(this).local;
  }

  timeout(ms) {
    return new BroadcastOperator(this).timeout(ms);
  }

  fetchSockets() {
    return new BroadcastOperator(this).fetchSockets();
  }

  socketsJoin(room) {
    new BroadcastOperator(this).socketsJoin(room);
  }

  socketsLeave(room) {
    new BroadcastOperator(this).socketsLeave(room);
  }

  disconnectSockets(close = false) {
    new BroadcastOperator(this).disconnectSockets(close);
  }

  allSockets() {
    return new BroadcastOperator(this).allSockets();
  }

  /**
   * Sends an event to this namespace on the other servers of a cluster (none with the
   * default in-memory adapter). A function as last argument gets `(err, responses)`.
   */
  serverSideEmit(event, ...args) {
    const ack = typeof args[args.length - 1] === "function" ? args.pop() : null;
    const { json, binaries } = encode(args);
    for (const nsp of this._targets()) {
      if (!ack) {
        nsp._native.serverSideEmit(event, json, binaries);
        continue;
      }
      const token = this.server._expect((record) => {
        const responses = (record.responses || []).map((r) => decode(r)[0]);
        guarded(this.server, `the acknowledgement callback of serverSideEmit "${event}"`, ack, this, [
          record.error ? new Error(record.error) : null,
          responses,
        ]);
      });
      try {
        nsp._native.serverSideEmitWithAck(event, json, binaries, token);
      } catch (err) {
        this.server._forget(token);
        throw err;
      }
    }
    return true;
  }

  serverSideEmitWithAck(event, ...args) {
    return new Promise((resolve, reject) => {
      this.serverSideEmit(event, ...args, (err, responses) => (err ? reject(err) : resolve(responses)));
    });
  }

  [Symbol.for("nodejs.rejection")](err, event) {
    report(this.server, err, `the "${String(event)}" listener of namespace ${this.name}`);
  }

  // ---- driven by the server's dispatcher ----

  /** Runs the middlewares; calls `done(err)` once. */
  _authorize(socket, done) {
    runChain(this._fns, this, socket, done, (e) => {
      report(this.server, e, `a middleware of namespace ${this.name}`);
      return e instanceof Error ? e : new Error(String(e));
    });
  }

  /** The socket is connected: runs `connect` and `connection` listeners; resolves (or
   *  returns null) when they are done, async ones included. */
  _connect(socket) {
    this.sockets.set(socket.id, socket);
    socket._connected = true;
    const where = `a "connection" listener of namespace ${this.name}`;
    const a = runListeners(this, "connect", [socket], where);
    const b = runListeners(this, "connection", [socket], where);
    if (a && b) return Promise.all([a, b]);
    return a || b;
  }

  _onServerSideEmit(record) {
    let args;
    try {
      args = decode(record.args);
    } catch (err) {
      warn(this.server, err, `decoding server-side event "${record.name}"`);
      return;
    }
    if (record.serverAck) {
      const native = record.serverAck;
      args.push((...response) => {
        const { json, binaries } = encode(response);
        native.send(json, binaries);
      });
    }
    try {
      localEmit.call(this, record.name, ...args);
    } catch (err) {
      report(this.server, err, `the "${record.name}" server-side listener of namespace ${this.name}`);
    }
  }
}

/** A dynamic namespace: `io.of(/regex/)` or `io.of((name, auth, next) => ...)`. Matching
 *  names become child namespaces on their first connection; each child starts with the
 *  parent's middlewares and connection listeners. */
class ParentNamespace extends Namespace {
  constructor(server, matcher, handlerId) {
    super(server, `/_${handlerId}`, null, handlerId);
    this.children = new Set();
    this._matcher = matcher;
  }

  _targets() {
    return [...this.children];
  }

  _members() {
    return [...this.children].flatMap((c) => c._members());
  }

  /** Whether `name` belongs to this parent; calls `done(accept)` once. */
  _match(name, auth, done) {
    if (this._matcher instanceof RegExp) {
      done(this._matcher.test(name));
      return;
    }
    let called = false;
    const next = (err, accept) => {
      if (called) return;
      called = true;
      done(!err && Boolean(accept));
    };
    try {
      const result = this._matcher(name, auth, next);
      if (isThenable(result)) result.then(undefined, (e) => next(e || new Error("namespace matcher rejected")));
    } catch (err) {
      report(this.server, err, `the matcher of dynamic namespace ${this.name}`);
      next(err);
    }
  }

  _createChild(name, native) {
    const child = new Namespace(this.server, name, native, this._handlerId);
    child._fns = this._fns.slice();
    for (const event of ["connect", "connection"]) {
      for (const listener of this.listeners(event)) child.on(event, listener);
    }
    child._parent = this;
    this.children.add(child);
    return child;
  }
}

module.exports = { Namespace, ParentNamespace };
