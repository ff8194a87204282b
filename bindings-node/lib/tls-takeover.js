"use strict";

// An https.Server whose TLS roomcast terminates (`terminateTls: true`). Node's TLS session
// cannot move to the core once it has begun, so the core takes each connection as Node
// accepts it and terminates TLS itself with the server's certificate and key: a connection
// whose first request is a Socket.IO WebSocket upgrade runs in the core, as on a plain
// http.Server; any other comes back here as plaintext on a local socket, which Node's HTTP
// server then serves as if it were the TLS socket (`secureConnection`).
//
// Only a server configured with a PEM certificate and key and nothing the core's TLS cannot
// honour qualifies; any other keeps Node's TLS, and its WebSockets' bytes are piped.

const net = require("node:net");
const tls = require("node:tls");

// TLS options the core's TLS (rustls) does not implement: a server that sets any of them
// keeps Node's TLS layer.
const NODE_ONLY_OPTIONS = [
  "pfx", "passphrase", "ciphers", "minVersion", "maxVersion", "secureProtocol", "sigalgs",
  "ecdhCurve", "dhparam", "secureOptions", "crl", "clientCertEngine", "privateKeyEngine",
  "privateKeyIdentifier", "ALPNCallback",
];

// Events whose listeners expect Node's TLS layer to run (sessions, OCSP, key logging).
const NODE_TLS_EVENTS = ["keylog", "newSession", "resumeSession", "OCSPRequest"];

const symbolNamed = (obj, description) =>
  Object.getOwnPropertySymbols(obj).find((s) => s.description === description);

// The listeners Node's https.Server registers for itself (shared by every server).
const probe = new (require("node:https").Server)();
const NODE_OWN = {
  connection: new Set(probe.listeners("connection")),
  secureConnection: new Set(probe.listeners("secureConnection")),
};

function isPem(value) {
  return typeof value === "string" || Buffer.isBuffer(value);
}

/** One PEM text from a `key` / `cert` option (a PEM, or an array of them), or null. */
function pemOf(value, single) {
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0 || (single && list.length !== 1) || !list.every(isPem)) return null;
  return Buffer.from(list.map((v) => String(v).trim()).join("\n") + "\n");
}

/**
 * Why the core cannot terminate `server`'s TLS, or null when it can. Read at attach time and
 * for every connection (`setSecureContext()` may change the answer).
 */
function whyNot(server) {
  if (!(server instanceof tls.Server)) return "not a TLS server";
  if (process.platform === "win32") return "descriptors cannot be handed over on Windows";
  if (server.requestCert) return "requestCert (client certificates) needs Node's TLS";
  for (const name of NODE_ONLY_OPTIONS) {
    if (server[name] !== undefined && server[name] !== null) return `option "${name}" needs Node's TLS`;
  }
  const sni = symbolNamed(server, "snicallback");
  if (sni && server[sni]) return "SNICallback needs Node's TLS";
  const psk = symbolNamed(server, "pskcallback");
  if (psk && server[psk]) return "pskCallback needs Node's TLS";
  if (Array.isArray(server._contexts) && server._contexts.length > 0) return "addContext() needs Node's TLS";
  const alpn = server.ALPNProtocols;
  if (alpn && !(Buffer.isBuffer(alpn) && alpn.equals(Buffer.from("\x08http/1.1")))) {
    return "ALPNProtocols other than http/1.1 need Node's TLS";
  }
  if (server.key === undefined || server.cert === undefined) return "the server has no key and cert";
  return null;
}

/** The server's handshake timeout in milliseconds (Node keeps it under a symbol). */
function handshakeTimeoutOf(server) {
  const key = symbolNamed(server, "handshake-timeout");
  const ms = key ? server[key] : undefined;
  return typeof ms === "number" && ms > 0 ? ms : undefined;
}

/**
 * The core's TLS for one https.Server: hands it the certificate and key, again whenever
 * `setSecureContext()` replaced them.
 */
class TlsTermination {
  constructor(native, server) {
    this.native = native;
    this.server = server;
    // The key and cert the core was last given (or refused), and whether it took them.
    this.given = { key: undefined, cert: undefined };
    this.usable = false;
  }

  /** Whether the core can terminate the server's TLS as it is configured now. */
  refresh() {
    const server = this.server;
    if (whyNot(server) !== null) return false;
    const { key, cert } = server;
    if (key !== this.given.key || cert !== this.given.cert) {
      this.given = { key, cert };
      this.usable = this.give(pemOf(cert, false), pemOf(key, true));
    }
    return this.usable;
  }

  /** Hands the core the certificate chain and key; false (with a warning) when it refuses. */
  give(cert, key) {
    let why = null;
    if (!cert || !key) {
      why = "its key and cert are not PEM strings or Buffers";
    } else {
      try {
        this.native.setTls(cert, key, handshakeTimeoutOf(this.server));
      } catch (err) {
        why = err.message;
      }
    }
    if (why === null) return true;
    process.emitWarning(`roomcast keeps Node's TLS for this https.Server: ${why}`, { type: "RoomcastWarning", code: "ROOMCAST_TLS" });
    return false;
  }

  /** Whether the core may take the connection just accepted (`auto`: nobody else watches). */
  mayTakeOver(onlyNode) {
    const server = this.server;
    if (NODE_TLS_EVENTS.some((e) => server.listenerCount(e) > 0)) return false;
    if (onlyNode) {
      for (const event of ["connection", "secureConnection"]) {
        if (!server.listeners(event).every((l) => NODE_OWN[event].has(l))) return false;
      }
    }
    return this.refresh();
  }

  /** A connection the core handed back: Node's HTTP server serves its plaintext. */
  handBack(connection) {
    const socket = new net.Socket({ fd: connection.fd, readable: true, writable: true });
    dressAsTlsSocket(socket, connection);
    this.server.emit("secureConnection", socket);
  }
}

/**
 * What code reading `req.socket` of an https request expects: it is encrypted, from the
 * client's address, with the session's protocol, cipher and ALPN.
 */
function dressAsTlsSocket(socket, c) {
  const fixed = {
    encrypted: true,
    authorized: false,
    authorizationError: null,
    alpnProtocol: c.alpnProtocol || false,
    servername: c.servername || false,
    remoteAddress: c.remoteAddress,
    remotePort: c.remotePort,
    remoteFamily: c.remoteAddress === undefined ? undefined : net.isIPv6(c.remoteAddress) ? "IPv6" : "IPv4",
    localAddress: c.localAddress,
    localPort: c.localPort,
  };
  for (const [name, value] of Object.entries(fixed)) {
    Object.defineProperty(socket, name, { value, configurable: true, enumerable: true, writable: false });
  }
  socket.getProtocol = () => c.protocol || null;
  socket.getCipher = () => (c.cipher ? { name: c.cipher, standardName: c.cipher, version: c.protocol } : null);
  socket.getPeerCertificate = () => ({});
  socket.getCertificate = () => null;
  socket.getSession = () => undefined;
  socket.isSessionReused = () => false;
}

module.exports = { TlsTermination, whyNot, pemOf, handshakeTimeoutOf };
