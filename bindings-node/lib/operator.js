"use strict";

// socket.io's BroadcastOperator (io.to(...).emit(...) and friends) and RemoteSocket. An
// operator only describes recipients and flags; the fan-out happens in Rust, where the event
// is encoded once and the same frames are queued to every recipient.

const { encode, decode } = require("./codec");
const { guarded } = require("./report");
const { roomList } = require("./rooms");

const TIMEOUT_MESSAGE = "operation has timed out";

class BroadcastOperator {
  /**
   * @param target a Namespace, or a ParentNamespace (its children are the recipients)
   */
  constructor(target, rooms = new Set(), exceptRooms = new Set(), flags = {}) {
    this._nsp = target;
    this.rooms = rooms;
    this.exceptRooms = exceptRooms;
    this.flags = flags;
    this._spec = undefined;
  }

  to(room) {
    const rooms = new Set(this.rooms);
    for (const r of roomList(room)) rooms.add(r);
    return new BroadcastOperator(this._nsp, rooms, this.exceptRooms, this.flags);
  }

  in(room) {
    return this.to(room);
  }

  except(room) {
    const exceptRooms = new Set(this.exceptRooms);
    for (const r of roomList(room)) exceptRooms.add(r);
    return new BroadcastOperator(this._nsp, this.rooms, exceptRooms, this.flags);
  }

  compress(compress) {
    return new BroadcastOperator(this._nsp, this.rooms, this.exceptRooms, { ...this.flags, compress: Boolean(compress) });
  }

  /** Recipients whose connection cannot take the packet right now do not get it. */
  get volatile() {
    return new BroadcastOperator(this._nsp, this.rooms, this.exceptRooms, { ...this.flags, volatile: true });
  }

  /** Only this server's sockets (matters with a cluster adapter). */
  get local() {
    return new BroadcastOperator(this._nsp, this.rooms, this.exceptRooms, { ...this.flags, local: true });
  }

  timeout(ms) {
    return new BroadcastOperator(this._nsp, this.rooms, this.exceptRooms, { ...this.flags, timeout: ms });
  }

  /** What the native layer takes as recipients and flags. */
  _target() {
    if (!this._spec) {
      const { volatile, local, compress, timeout } = this.flags;
      this._spec = {
        rooms: this.rooms.size ? [...this.rooms] : undefined,
        except: this.exceptRooms.size ? [...this.exceptRooms] : undefined,
        volatile: volatile || undefined,
        local: local || undefined,
        compress,
        timeout: typeof timeout === "number" ? timeout : undefined,
      };
    }
    return this._spec;
  }

  /**
   * Emits to every selected socket. With a function as last argument, it is called with
   * `(err, responses)` once every recipient acknowledged (or at the timeout, with the
   * responses received so far and an "operation has timed out" error).
   */
  emit(event, ...args) {
    const ack = typeof args[args.length - 1] === "function" ? args.pop() : null;
    const { json, binaries } = encode(args);
    const namespaces = this._nsp._targets();
    if (!ack) {
      for (const nsp of namespaces) nsp._native.emit(this._target(), event, json, binaries);
      this._nsp.server._sent();
      return true;
    }
    const server = this._nsp.server;
    const where = `the acknowledgement callback of broadcast "${event}"`;
    if (namespaces.length === 0) {
      process.nextTick(() => guarded(server, where, ack, null, [null, []]));
      return true;
    }
    let remaining = namespaces.length;
    let error = null;
    const responses = [];
    for (const nsp of namespaces) {
      const token = server._expect((record) => {
        for (const r of record.responses || []) responses.push(decode(r)[0]);
        if (record.error) error = new Error(record.error);
        if (--remaining === 0) guarded(server, where, ack, null, [error, responses]);
      });
      try {
        nsp._native.emitWithAck(this._target(), event, json, binaries, token);
        server._sent();
      } catch (err) {
        server._forget(token);
        throw err;
      }
    }
    return true;
  }

  /**
   * Resolves with the responses; rejects when the timeout passes first, with the responses
   * that did arrive as `err.responses` (as socket.io does).
   */
  emitWithAck(event, ...args) {
    return new Promise((resolve, reject) => {
      this.emit(event, ...args, (err, responses) => {
        if (!err) return resolve(responses);
        err.responses = responses;
        reject(err);
      });
    });
  }

  /** The selected sockets: this process's own `Socket` objects, `RemoteSocket`s for others. */
  fetchSockets() {
    const server = this._nsp.server;
    return Promise.all(
      this._nsp._targets().map(
        (nsp) =>
          new Promise((resolve, reject) => {
            const token = server._expect((record) => {
              if (record.error) return reject(new Error(record.error));
              resolve((record.sockets || []).map((s) => (s.local && nsp.sockets.get(s.id)) || new RemoteSocket(nsp, s)));
            });
            nsp._native.fetchSockets(this._target(), token);
          }),
      ),
    ).then((lists) => lists.flat());
  }

  socketsJoin(room) {
    const rooms = roomList(room);
    for (const nsp of this._nsp._targets()) nsp._native.socketsJoin(this._target(), rooms);
  }

  socketsLeave(room) {
    const rooms = roomList(room);
    for (const nsp of this._nsp._targets()) nsp._native.socketsLeave(this._target(), rooms);
  }

  disconnectSockets(close = false) {
    for (const nsp of this._nsp._targets()) nsp._native.disconnectSockets(this._target(), Boolean(close));
  }

  /** @deprecated as in socket.io: use fetchSockets(). */
  allSockets() {
    return this.fetchSockets().then((sockets) => new Set(sockets.map((s) => s.id)));
  }
}

/** A socket found by fetchSockets() that lives on another server of the cluster. */
class RemoteSocket {
  constructor(nsp, details) {
    this._nsp = nsp;
    this.id = details.id;
    this.handshake = JSON.parse(details.handshake);
    this.rooms = new Set(details.rooms);
    this.data = JSON.parse(details.data);
  }

  _operator(flags) {
    return new BroadcastOperator(this._nsp, new Set([this.id]), new Set(), flags);
  }

  emit(event, ...args) {
    return this._operator().emit(event, ...args);
  }

  timeout(ms) {
    return this._operator({ timeout: ms });
  }

  join(room) {
    this._operator().socketsJoin(room);
  }

  leave(room) {
    this._operator().socketsLeave(room);
  }

  disconnect(close = false) {
    this._operator().disconnectSockets(close);
    return this;
  }
}

module.exports = { BroadcastOperator, RemoteSocket, TIMEOUT_MESSAGE };
