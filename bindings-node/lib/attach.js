"use strict";

// Attaching to a Node http.Server (plain, or an express app's): requests under the Socket.IO
// path and WebSocket upgrades go to roomcast, every other request to the listeners the server
// already had. The core answers HTTP exactly as its own listener does. A WebSocket upgrade
// on a plain TCP or Unix socket is taken over: the core duplicates the socket's descriptor
// and runs the connection as its own listener would, so frames never cross into JavaScript.
// Where that is impossible (TLS, Windows, a socket without a descriptor, or
// `takeOverWebSockets: false`) the raw socket's bytes are piped to the core, which still does
// the WebSocket framing.
// A plain http.Server's connections are offered to the core as its listening socket accepts
// them, before Node makes a net.Socket of them: when the bytes already queued are a whole
// WebSocket upgrade request of the Socket.IO path, the core takes the connection over then,
// and Node never sees it (no `connection` event, no HTTP parser, no `upgrade` event: most of
// Node's cost per connection); anything else goes on to Node's HTTP server as before. By
// default that happens only while nobody but Node itself listens to the server's
// `connection` event, so code that tracks sockets through it still sees every connection.

// On an https.Server with `terminateTls: true`, the core terminates TLS on the connections
// it takes at accept (see tls-takeover.js); without it an https.Server keeps Node's TLS and
// its WebSockets are piped.

const fs = require("node:fs");
const http = require("node:http");
const tls = require("node:tls");
const { TlsTermination, whyNot } = require("./tls-takeover");

/**
 * Whether the connections of `httpServer` can be offered to the core as they are accepted:
 * Node's own http.Server, or a TLS server whose TLS the core terminates.
 */
function acceptsForTakeover(httpServer, terminatesTls) {
  return process.platform !== "win32" && (httpServer instanceof http.Server || terminatesTls);
}

// The listener Node's http.Server registers for its own `connection` event (one function,
// shared by every http.Server of the process).
const NODE_CONNECTION_LISTENERS = new Set(new http.Server().listeners("connection"));

/** Whether only Node's HTTP server itself listens to `httpServer`'s `connection` event. */
function onlyNodeSeesConnections(httpServer) {
  const count = httpServer.listenerCount("connection");
  if (count === 0) return true;
  return count === 1 && NODE_CONNECTION_LISTENERS.has(httpServer.listeners("connection")[0]);
}

function pathnameOf(url) {
  const q = url.indexOf("?");
  return q === -1 ? url : url.slice(0, q);
}

function requestHead(req) {
  return {
    method: req.method,
    url: req.url,
    headers: req.rawHeaders,
    remoteAddress: req.socket.remoteAddress,
    remotePort: req.socket.remotePort,
    secure: req.socket.encrypted === true,
  };
}

/**
 * The descriptor the core may take over, or -1. A TLS socket's descriptor carries
 * ciphertext whose session state lives in Node's TLS layer, so it must stay in Node.
 */
function descriptorOf(socket) {
  if (process.platform === "win32" || socket.encrypted) return -1;
  const handle = socket._handle;
  if (!handle || typeof handle.fd !== "number" || handle.fd < 0) return -1;
  return handle.fd;
}

/** `head` plus whatever Node buffered after it before the `upgrade` event. */
function pendingBytes(socket, head) {
  const more = socket.readableLength > 0 ? socket.read() : null;
  if (!more || more.length === 0) return head && head.length ? head : undefined;
  return head && head.length ? Buffer.concat([head, more]) : more;
}

function hasBody(status) {
  return status >= 200 && status !== 204 && status !== 304;
}

function notFound(res) {
  res.writeHead(404, { "content-type": "text/plain; charset=utf-8" });
  res.end("Not Found");
}

class HttpBridge {
  constructor(io, httpServer, options) {
    this.io = io;
    this.httpServer = httpServer;
    this.destroyUpgrade = options.destroyUpgrade !== false;
    this.destroyUpgradeTimeout = options.destroyUpgradeTimeout;
    this.takeOver = options.takeOverWebSockets !== false;
    this.responses = new Map();
    this.websockets = new Map();
    this.previous = httpServer.listeners("request").slice();
    this.onRequest = (req, res) => this.request(req, res);
    this.onUpgrade = (req, socket, head) => this.upgrade(req, socket, head);
    httpServer.removeAllListeners("request");
    httpServer.on("request", this.onRequest);
    httpServer.on("upgrade", this.onUpgrade);
    this.hooked = null;
    this.tls = null;
    if (options.terminateTls && httpServer instanceof tls.Server) {
      const why = whyNot(httpServer);
      if (why === null) {
        this.tls = new TlsTermination(io._native, httpServer);
      } else {
        process.emitWarning(`roomcast keeps Node's TLS for this https.Server (terminateTls): ${why}`, { type: "RoomcastWarning", code: "ROOMCAST_TLS" });
      }
    }
    // "auto" (the default) takes over at accept only while no one else listens to
    // `connection` (checked per connection, as listeners come and go); true always.
    this.atAccept = options.takeOverAtAccept === undefined ? "auto" : options.takeOverAtAccept;
    if (this.takeOver && this.atAccept !== false && acceptsForTakeover(httpServer, this.tls !== null)) {
      // The listening handle is new on every listen(); one already listening is hooked now.
      this.onListening = () => this.hookAccept();
      httpServer.on("listening", this.onListening);
      if (httpServer.listening) this.hookAccept();
    }
  }

  /**
   * Wraps the listening handle's accept callback (`onconnection`, which makes the net.Socket
   * and emits `connection`): the core sees each accepted connection first. A handle without
   * one (not Node's own listener) is left alone, and upgrades are still taken over later.
   */
  hookAccept() {
    const handle = this.httpServer._handle;
    if (!handle || typeof handle.onconnection !== "function" || this.hooked?.handle === handle) return;
    // Connections are accepted once their request arrived, so each one's upgrade request is
    // there to be peeked at: otherwise the few whose request came a moment later took Node's
    // slower path and reached `connection` after clients that connected after them.
    if (typeof handle.fd === "number" && handle.fd >= 0) this.io._native.deferAccept(handle.fd);
    const nodeAccept = handle.onconnection;
    const bridge = this;
    handle.onconnection = function onconnection(err, clientHandle) {
      if (!err && bridge.takeOverAccepted(clientHandle)) return;
      return nodeAccept.call(this, err, clientHandle);
    };
    this.hooked = { handle, nodeAccept };
  }

  /** True when the core took the just accepted connection over (and Node closed its handle). */
  takeOverAccepted(clientHandle) {
    const server = this.httpServer;
    if (this.io._closed || !clientHandle) return false;
    if (this.tls) {
      if (!this.tls.mayTakeOver(this.atAccept === "auto")) return false;
    } else if (this.atAccept === "auto" && !onlyNodeSeesConnections(server)) {
      return false;
    }
    // Past maxConnections, Node drops the connection: let it, with its `drop` event.
    if (server.maxConnections && server._connections >= server.maxConnections) return false;
    const fd = clientHandle.fd;
    if (typeof fd !== "number" || fd < 0) return false;
    let taken;
    try {
      taken = this.tls ? this.io._native.takeOverTlsConnection(fd) : this.io._native.takeOverConnection(fd);
    } catch (err) {
      return false;
    }
    if (!taken) return false;
    // Closes only Node's descriptor: the core's duplicate keeps the connection open.
    clientHandle.close();
    return true;
  }

  request(req, res) {
    if (this.io._native.handlesPath(pathnameOf(req.url))) {
      this.handle(req, res);
      return;
    }
    for (const listener of this.previous) listener.call(this.httpServer, req, res);
    // Nobody else answers: socket.io would leave the request hanging; say 404 instead.
    if (this.previous.length === 0 && this.httpServer.listenerCount("request") === 1) notFound(res);
  }

  handle(req, res) {
    if (this.io._closed) {
      // The core answers nothing any more, and a keep-alive connection may still bring a
      // client's next poll: answer as engine.io does for a sid it no longer knows, and close.
      req.resume();
      res.shouldKeepAlive = false;
      res.writeHead(400, { "content-type": "application/json" });
      res.end('{"code":1,"message":"Session ID unknown"}');
      return;
    }
    const native = this.io._native;
    const token = this.io._nextToken();
    let bodyDone = false;
    this.responses.set(token, res);
    res.once("close", () => {
      if (!this.responses.delete(token)) return;
      // The client went away before its answer: an unfinished body is an error (the session
      // ends, as with the native listener); a pending long-poll is dropped (likewise). Both
      // happen in this call, before Node hands over the client's next request.
      if (!bodyDone) native.httpBodyEnd(token, true);
      native.cancelHttp(token);
    });
    try {
      native.handleHttp(token, requestHead(req));
    } catch (err) {
      this.responses.delete(token);
      req.resume();
      res.writeHead(400, { "content-type": "text/plain; charset=utf-8" });
      res.end(String(err.message));
      return;
    }
    // The body streams to the core: an overlapping POST is refused while this one is still
    // arriving, and an oversized one without being buffered here.
    req.on("data", (chunk) => native.httpBody(token, chunk));
    req.on("end", () => {
      bodyDone = true;
      native.httpBodyEnd(token, false);
    });
  }

  /** The core's answer (record kind `http`). */
  respond(record) {
    const res = this.responses.get(record.token);
    if (!res) return;
    this.responses.delete(record.token);
    if (record.status === undefined || record.status === null) {
      notFound(res);
      return;
    }
    const headers = record.headers;
    // Node would otherwise send a head-written response chunked; the core's own listener
    // (hyper) sends Content-Length, and clients and tests see the same bytes either way.
    if (!hasBody(record.status) || headers.some((h, i) => i % 2 === 0 && h === "content-length")) {
      res.writeHead(record.status, headers);
    } else {
      res.writeHead(record.status, [...headers, "content-length", String(record.body.length)]);
    }
    res.end(hasBody(record.status) ? record.body : undefined);
  }

  upgrade(req, socket, head) {
    if (!this.io._native.handlesPath(pathnameOf(req.url))) {
      if (this.destroyUpgrade) {
        setTimeout(() => {
          if (socket.writable && socket.bytesWritten <= 0) socket.end();
        }, this.destroyUpgradeTimeout).unref();
      }
      return;
    }
    if (this.io._closed) {
      socket.destroy();
      return;
    }
    const bytes = pendingBytes(socket, head);
    const fd = this.takeOver ? descriptorOf(socket) : -1;
    if (fd >= 0 && this.takeOverSocket(fd, req, socket, bytes)) return;
    this.pipe(req, socket, bytes);
  }

  /** True when the core now owns the connection and Node's side of it is closed. */
  takeOverSocket(fd, req, socket, bytes) {
    try {
      this.io._native.takeOverWebSocket(fd, requestHead(req), bytes);
    } catch (err) {
      // Not a socket the core can run (it keeps nothing): the bytes go through Node.
      return false;
    }
    // Closes only Node's descriptor: the core's duplicate keeps the connection open, and
    // destroy() neither writes nor shuts the connection down.
    socket.destroy();
    return true;
  }

  pipe(req, socket, bytes) {
    const token = this.io._nextToken();
    const native = this.io._native;
    this.websockets.set(token, socket);
    socket.setNoDelay(true);
    socket.setTimeout(0);
    socket.on("data", (chunk) => {
      if (native.wsWrite(token, chunk)) socket.pause();
    });
    // http.Server sockets allow half-open connections: the client's FIN arrives as "end"
    // without a "close"; for a WebSocket it means the client is gone.
    socket.on("end", () => native.wsEnd(token));
    socket.on("error", () => {
      // "close" follows and ends the stream on the core's side.
    });
    socket.on("close", () => {
      this.websockets.delete(token);
      native.wsEnd(token);
    });
    try {
      native.openWebSocket(token, requestHead(req), bytes);
    } catch (err) {
      this.websockets.delete(token);
      socket.end(`HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    }
  }

  /** Bytes from the core for a WebSocket (record kind `wsData`). */
  wsData(record) {
    const socket = this.websockets.get(record.token);
    if (!socket || socket.destroyed) return;
    const n = record.body.length;
    socket.write(record.body, () => this.io._native.wsFlushed(record.token, n));
  }

  wsEnd(record) {
    const socket = this.websockets.get(record.token);
    if (!socket) return;
    this.websockets.delete(record.token);
    socket.end();
    // A peer that never closes its side must not keep the server from closing.
    setTimeout(() => socket.destroy(), 2000).unref();
  }

  wsResume(record) {
    const socket = this.websockets.get(record.token);
    if (socket) socket.resume();
  }

  /** A connection whose TLS the core terminated, handed back for Node's HTTP server. */
  tlsConnection(record) {
    const connection = record.connection;
    if (!this.tls) {
      fs.closeSync(connection.fd);
      return;
    }
    this.tls.handBack(connection);
  }

  /**
   * After the core's close: it answers no request and ends no WebSocket any more, so a Node
   * socket still waiting for it would keep http.Server#close() from ever finishing.
   */
  dropLeftovers() {
    for (const res of this.responses.values()) res.destroy();
    this.responses.clear();
    for (const socket of this.websockets.values()) socket.destroy();
    this.websockets.clear();
  }

  detach() {
    this.httpServer.removeListener("request", this.onRequest);
    this.httpServer.removeListener("upgrade", this.onUpgrade);
    if (this.onListening) this.httpServer.removeListener("listening", this.onListening);
    if (this.hooked) {
      this.hooked.handle.onconnection = this.hooked.nodeAccept;
      this.hooked = null;
    }
    for (const listener of this.previous) this.httpServer.on("request", listener);
  }
}

module.exports = { HttpBridge, pathnameOf };
