"use strict";

// `io.engine`: the part of engine.io's Server that user code reaches — `clientsCount`, `opts`
// and the events `connection` (a `socket.conn`-like object), `connection_error`,
// `initial_headers` and `headers`. The core reports an event only once it has a listener.

const { EventEmitter } = require("node:events");
const { report } = require("./report");

const FROM_CORE = new Set(["connection", "connection_error", "initial_headers", "headers"]);

/** A description of a request as engine.io's listeners read it (not a live IncomingMessage). */
function describeRequest(record, method = "GET") {
  const headers = {};
  for (let i = 0; i + 1 < record.headers.length; i += 2) headers[record.headers[i]] = record.headers[i + 1];
  const url = record.url;
  return {
    method,
    url,
    headers,
    _query: Object.fromEntries(new URL(url, "http://localhost").searchParams),
    socket: { remoteAddress: record.address },
    connection: { remoteAddress: record.address },
  };
}

class Engine extends EventEmitter {
  constructor(io) {
    super();
    this._io = io;
    this._enabled = new Set();
    this.on("newListener", (event) => {
      if (!FROM_CORE.has(event) || this._enabled.has(event)) return;
      this._enabled.add(event);
      io._native.enableEngineEvent(event);
    });
  }

  /** The number of open Engine.IO connections. */
  get clientsCount() {
    return this._io._native.stats().sessions;
  }

  /** The options in effect (socket.io's names, attach()'s merged in). */
  get opts() {
    return this._io.opts;
  }

  /** A new native server (io.adapter(), listening again) reports what this one did. */
  _configure(nativeServer) {
    for (const event of this._enabled) nativeServer.enableEngineEvent(event);
  }

  /** Emits `event`; a listener that throws surfaces as the application's failures do. */
  _emitReported(event, ...args) {
    try {
      this.emit(event, ...args);
    } catch (err) {
      report(this._io, err, `an io.engine "${event}" listener`);
    }
  }

  /** An `engine*` record. */
  _dispatch(record) {
    switch (record.kind) {
      case "engineConnection": {
        const conn = this._io._engineConn(record, describeRequest(record));
        this._emitReported("connection", conn);
        return;
      }
      case "engineClose": {
        const conn = this._io._conns.get(record.engine);
        if (conn) conn._closed(record.reason);
        return;
      }
      case "engineError":
        this._emitReported("connection_error", {
          req: describeRequest(record, record.method),
          code: record.status,
          message: record.error,
          context: JSON.parse(record.context),
        });
        return;
      case "engineHeaders": {
        const headers = {};
        const req = describeRequest(record, record.method);
        if (record.initial) this._emitReported("initial_headers", headers, req);
        this._emitReported("headers", headers, req);
        // An array value is one header line per element (`Set-Cookie`).
        const flat = [];
        for (const [name, value] of Object.entries(headers)) {
          for (const v of Array.isArray(value) ? value : [value]) {
            if (v !== undefined && v !== null) flat.push(name, String(v));
          }
        }
        this._io._native.answerEngineHeaders(record.token, flat);
        return;
      }
      default:
    }
  }
}

module.exports = { Engine, describeRequest };
