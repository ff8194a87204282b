"use strict";

// `socket.conn`: the connection under a socket (engine.io's Socket, in part), one object per
// connection shared by its sockets in every namespace. Created on first access only; the
// core reports `upgrading` / `upgrade` only for connections with such listeners, and each
// Engine.IO packet (`packet`, `packetCreate`, `drain`) only for connections listening to those.

const { EventEmitter } = require("node:events");

const FROM_CORE = new Set(["upgrading", "upgrade", "close"]);
const PACKETS = new Set(["packet", "packetCreate", "drain"]);

/** Disconnect reasons that end the socket, not the connection. */
const NAMESPACE_ONLY = new Set(["client namespace disconnect", "server namespace disconnect"]);

class Conn extends EventEmitter {
  /** `first`: the socket it was first asked from; null for one made at the session's start
   *  (`io.engine`'s `connection`), whose `session` describes it until a socket joins. */
  constructor(server, id, first, session) {
    super();
    this._server = server;
    this._sockets = new Set();
    this._watching = false;
    this._watchingPackets = false;
    this._upgradingSeen = false;
    this._upgraded = false;
    this._first = first;
    this._session = session;
    this.id = id;
    this.readyState = "open";
    // An own property, as engine.io's: a listener may delete or replace it (socket.io then
    // builds the handshake without a request).
    if (session) this.request = session.request;
    else {
      Object.defineProperty(this, "request", {
        configurable: true,
        enumerable: true,
        get: () => this._first.request,
        set: (value) => Object.defineProperty(this, "request", { value, writable: true, configurable: true, enumerable: true }),
      });
    }
    this.on("newListener", (event) => {
      if (PACKETS.has(event) && !this._watchingPackets) {
        this._watchingPackets = true;
        this._watching = true;
        for (const s of this._sockets) s._native.setNotifyPackets(true);
        return;
      }
      if (this._watching || !FROM_CORE.has(event)) return;
      this._watching = true;
      for (const s of this._sockets) s._native.setNotifyConn(true);
    });
  }

  _add(socket) {
    if (this._sockets.has(socket)) return;
    this._sockets.add(socket);
    if (!this._first) this._first = socket;
    if (this._watchingPackets) socket._native.setNotifyPackets(true);
    else if (this._watching) socket._native.setNotifyConn(true);
  }

  get transport() {
    return { name: this._first ? this._first._native.transport() : this._session.transport };
  }

  /** Engine.IO protocol revision: 4, or 3 for socket.io v2 clients. */
  get protocol() {
    return this._first ? this._first._native.protocol() : this._session.protocol;
  }

  get remoteAddress() {
    return this._session ? this._session.address : this._first.handshake.address;
  }

  /** Closes the connection: every socket on it disconnects. */
  close() {
    for (const s of [...this._sockets]) s.disconnect(true);
    if (this._sockets.size === 0) {
      if (this._session) this._server._native.closeEngineSession(this.id);
      else this._first.disconnect(true);
    }
    return this;
  }

  /** From the core, through each of the connection's watching sockets: emitted once per
   *  connection. */
  _fromCore(event, reason, args, compress) {
    if (PACKETS.has(event)) {
      if (event === "drain") return void this.emit("drain");
      // As engine.io: `{ type, data }`, data only when the packet has some; a created packet
      // also has its send options.
      const packet = { type: reason };
      const data = args && args.binaries ? args.binaries[0] : args ? JSON.parse(args.json) : null;
      if (data !== null) packet.data = data;
      if (event === "packetCreate") packet.options = { compress: compress !== false };
      return void this.emit(event, packet);
    }
    if (event === "close") {
      this._closed(reason);
      return;
    }
    if (event === "upgrading") {
      if (this._upgradingSeen) return;
      this._upgradingSeen = true;
    } else if (event === "upgrade") {
      if (this._upgraded) return;
      this._upgraded = true;
    }
    this.emit(event, this.transport);
  }

  /** One of its sockets disconnected with `reason`: a reason that ends the connection closes
   *  it (`close`, once). */
  _socketGone(socket, reason) {
    this._sockets.delete(socket);
    if (!NAMESPACE_ONLY.has(reason)) this._closed(reason);
    // Without watchers the core will not say when the connection closes: forget it now
    // (`io.engine`'s own connections hear it from the core).
    else if (this._sockets.size === 0 && !this._watching && !this._session) this._server._conns.delete(this.id);
  }

  _closed(reason) {
    if (this.readyState !== "open") return;
    this.readyState = "closed";
    this._server._conns.delete(this.id);
    this.emit("close", reason);
  }
}

module.exports = { Conn };
