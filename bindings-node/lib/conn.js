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
  constructor(server, socket) {
    super();
    this._server = server;
    this._sockets = new Set();
    this._watching = false;
    this._watchingPackets = false;
    this._upgradingSeen = false;
    this._upgraded = false;
    this._first = socket;
    this.id = socket._native.engineId();
    this.readyState = "open";
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
    if (this._watchingPackets) socket._native.setNotifyPackets(true);
    else if (this._watching) socket._native.setNotifyConn(true);
  }

  get transport() {
    return { name: this._first._native.transport() };
  }

  /** Engine.IO protocol revision: 4, or 3 for socket.io v2 clients. */
  get protocol() {
    return this._first._native.protocol();
  }

  /** A description of the first HTTP request (headers, url), as `socket.request`. */
  get request() {
    return this._first.request;
  }

  get remoteAddress() {
    return this._first.handshake.address;
  }

  /** Closes the connection: every socket on it disconnects. */
  close() {
    for (const s of [...this._sockets]) s.disconnect(true);
    if (this._sockets.size === 0) this._first.disconnect(true);
    return this;
  }

  /** From the core, through each of the connection's watching sockets: emitted once per
   *  connection. */
  _fromCore(event, reason, args) {
    if (PACKETS.has(event)) {
      if (event === "drain") return void this.emit("drain");
      // As engine.io: `{ type, data }`, data only when the packet has some; a created packet
      // also has its send options.
      const packet = { type: reason };
      const data = args && args.binaries ? args.binaries[0] : args ? JSON.parse(args.json) : null;
      if (data !== null) packet.data = data;
      if (event === "packetCreate") packet.options = { compress: true };
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
    // Without watchers the core will not say when the connection closes: forget it now.
    else if (this._sockets.size === 0 && !this._watching) this._server._conns.delete(this.id);
  }

  _closed(reason) {
    if (this.readyState !== "open") return;
    this.readyState = "closed";
    this._server._conns.delete(this.id);
    this.emit("close", reason);
  }
}

module.exports = { Conn };
