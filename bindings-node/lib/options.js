"use strict";

// socket.io's option names, validated and turned into what the native layer takes.

const { nativeAdapter } = require("./adapter");
const { pemOf } = require("./tls-takeover");

const DEFAULTS = {
  path: "/socket.io",
  serveClient: true,
  pingInterval: 25000,
  pingTimeout: 20000,
  upgradeTimeout: 10000,
  maxHttpBufferSize: 1e6,
  connectTimeout: 45000,
  transports: ["polling", "websocket"],
  cleanupEmptyChildNamespaces: false,
  allowEIO3: false,
  httpCompression: true,
  perMessageDeflate: false,
  destroyUpgrade: true,
  destroyUpgradeTimeout: 1000,
  takeOverWebSockets: true,
  takeOverAtAccept: "auto",
  terminateTls: false,
};

// Options socket.io has that change behaviour roomcast does not offer (yet). They are
// ignored with a warning rather than refused, so existing code still starts.
const UNSUPPORTED = ["wsEngine", "initialPacket", "cookie"];

// Options of the `cors` package that roomcast does not apply.
const CORS_UNSUPPORTED = ["exposedHeaders", "maxAge", "preflightContinue", "optionsSuccessStatus"];

const warned = new Set();

function warnOnce(key, message) {
  if (warned.has(key)) return;
  warned.add(key);
  process.emitWarning(message, { type: "RoomcastWarning", code: `ROOMCAST_${key.toUpperCase()}` });
}

function nonNegative(name, value, unit) {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new TypeError(`roomcast: option "${name}" must be a non-negative number (${unit}), got ${String(value)}`);
  }
  return value;
}

const milliseconds = (name, value) => nonNegative(name, value, "milliseconds");

function optionalCap(name, value) {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
    throw new TypeError(`roomcast: option "${name}" must be a positive integer, got ${String(value)}`);
  }
  return value;
}

function normalizePath(value) {
  if (typeof value !== "string" || value === "") {
    throw new TypeError(`roomcast: option "path" must be a non-empty string, got ${String(value)}`);
  }
  const withSlash = value.startsWith("/") ? value : `/${value}`;
  return `${withSlash.replace(/\/+$/, "")}/`;
}

function corsOrigins(cors) {
  if (cors === undefined || cors === null || cors === false) return { origins: undefined, credentials: false };
  if (typeof cors !== "object") throw new TypeError("roomcast: option \"cors\" must be an object such as { origin: \"*\" }");
  for (const key of CORS_UNSUPPORTED) {
    if (cors[key] !== undefined) warnOnce(`cors_${key}`, `roomcast ignores the cors option "${key}"`);
  }
  const credentials = Boolean(cors.credentials);
  const { origin } = cors;
  // The cors package's default origin is "*".
  if (origin === undefined || origin === "*" || origin === true) return { origins: ["*"], credentials };
  if (origin === false) return { origins: undefined, credentials: false };
  if (typeof origin === "string") return { origins: [origin], credentials };
  if (Array.isArray(origin) && origin.every((o) => typeof o === "string")) return { origins: origin.slice(), credentials };
  throw new TypeError(
    "roomcast: cors.origin must be \"*\", true, a string or an array of strings " +
      "(functions and regular expressions are not supported)",
  );
}

/** `cors.methods` / `cors.allowedHeaders` as the `cors` package sends them: a list joined
 *  with commas, a string as given; undefined keeps that package's default. */
function corsList(name, value) {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "string") return value;
  if (Array.isArray(value) && value.every((v) => typeof v === "string")) return value.join(",");
  throw new TypeError(`roomcast: cors.${name} must be a string or an array of strings`);
}

/**
 * socket.io's `parser` option takes a parser module; the core implements the two parsers
 * socket.io clients use, so this only tells which one: socket.io-msgpack-parser (its encoder
 * produces binary packets) or the default one. `"msgpack"` / `"default"` also work.
 */
function usesMsgpack(parser) {
  if (parser === undefined || parser === null || parser === "default") return false;
  if (parser === "msgpack") return true;
  if (typeof parser === "object" && typeof parser.Encoder === "function") {
    let encoded;
    try {
      encoded = new parser.Encoder().encode({ type: 2, nsp: "/", data: ["probe"] });
    } catch (err) {
      throw new TypeError(`roomcast: the "parser" option's Encoder failed: ${err && err.message}`);
    }
    const first = Array.isArray(encoded) ? encoded[0] : encoded;
    return typeof first !== "string";
  }
  throw new TypeError(
    "roomcast: option \"parser\" must be socket.io-msgpack-parser, socket.io-parser, \"msgpack\" or \"default\"",
  );
}

/** socket.io's `httpCompression`: true (threshold 1024 bytes), false, or `{ threshold }`. */
function compressionThreshold(value) {
  if (value === false) return undefined;
  if (value === true || value === undefined || value === null) return 1024;
  if (typeof value === "object") return value.threshold === undefined ? 1024 : nonNegative("httpCompression.threshold", value.threshold, "bytes");
  throw new TypeError("roomcast: option \"httpCompression\" must be a boolean or { threshold }");
}

/** socket.io's `perMessageDeflate`: false (default), true (threshold 1024 bytes), or
 *  `{ threshold, zlibDeflateOptions: { level } }`; other `ws` options are not used. */
function perMessageDeflate(value) {
  if (value === false || value === undefined || value === null) return { threshold: undefined, level: undefined };
  if (value === true) return { threshold: 1024, level: undefined };
  if (typeof value !== "object") throw new TypeError("roomcast: option \"perMessageDeflate\" must be a boolean or { threshold, zlibDeflateOptions }");
  const threshold = value.threshold === undefined ? 1024 : nonNegative("perMessageDeflate.threshold", value.threshold, "bytes");
  const zlib = value.zlibDeflateOptions || {};
  let level;
  if (zlib.level !== undefined) {
    if (!Number.isInteger(zlib.level) || zlib.level < 0 || zlib.level > 9) {
      throw new TypeError("roomcast: option \"perMessageDeflate.zlibDeflateOptions.level\" must be an integer from 0 to 9");
    }
    level = zlib.level;
  }
  return { threshold, level };
}

/** socket.io's `connectionStateRecovery` (off unless given). */
function recovery(value) {
  if (value === undefined || value === null || value === false) return { duration: undefined, skip: false };
  if (typeof value !== "object") throw new TypeError("roomcast: option \"connectionStateRecovery\" must be an object");
  const duration = value.maxDisconnectionDuration === undefined ? 120000 : milliseconds("connectionStateRecovery.maxDisconnectionDuration", value.maxDisconnectionDuration);
  return { duration, skip: value.skipMiddlewares !== false };
}

function transports(list) {
  if (!Array.isArray(list) || list.length === 0) {
    throw new TypeError("roomcast: option \"transports\" must be a non-empty array such as [\"polling\", \"websocket\"]");
  }
  for (const t of list) {
    if (t !== "polling" && t !== "websocket") {
      throw new TypeError(`roomcast: unknown transport ${JSON.stringify(t)} (supported: "polling", "websocket")`);
    }
  }
  return { polling: list.includes("polling"), websocket: list.includes("websocket") };
}

/** `routeSessions: { url, address?, keyPrefix?, ttl? }` (no sticky sessions), checked. */
function routeSessions(value) {
  if (value === undefined || value === null || value === false) return undefined;
  if (typeof value !== "object" || typeof value.url !== "string" || !/^rediss?:\/\//.test(value.url)) {
    throw new TypeError("roomcast: option \"routeSessions\" must be { url: \"redis://...\", address?: \"host:port\" }");
  }
  if (value.address !== undefined && typeof value.address !== "string") {
    throw new TypeError("roomcast: routeSessions.address must be a \"host:port\" string");
  }
  return {
    url: value.url,
    address: value.address,
    keyPrefix: value.keyPrefix === undefined ? undefined : String(value.keyPrefix),
    ttl: value.ttl === undefined ? undefined : milliseconds("routeSessions.ttl", value.ttl),
  };
}

function validTls(t) {
  return t !== null && typeof t === "object" && pemOf(t.key, true) !== null && pemOf(t.cert, false) !== null;
}

/** Merged options (socket.io names) plus the native options derived from them. */
function normalize(opts = {}) {
  if (opts === null || typeof opts !== "object") throw new TypeError("roomcast: options must be an object");
  const o = { ...DEFAULTS, ...opts };
  for (const key of UNSUPPORTED) {
    if (opts[key] !== undefined) warnOnce(key, `roomcast ignores the socket.io option "${key}"`);
  }
  if (o.allowRequest !== undefined && typeof o.allowRequest !== "function") {
    throw new TypeError("roomcast: option \"allowRequest\" must be a function (req, callback)");
  }
  if (o.takeOverAtAccept !== true && o.takeOverAtAccept !== false && o.takeOverAtAccept !== "auto") {
    throw new TypeError(`roomcast: option "takeOverAtAccept" must be true, false or "auto", got ${String(o.takeOverAtAccept)}`);
  }
  if (typeof o.terminateTls !== "boolean") {
    throw new TypeError(`roomcast: option "terminateTls" must be a boolean, got ${String(o.terminateTls)}`);
  }
  if (o.tls !== undefined && !validTls(o.tls)) {
    throw new TypeError('roomcast: option "tls" must be { key, cert } with PEM strings or Buffers (cert may be an array)');
  }
  const cors = corsOrigins(o.cors);
  const resume = recovery(o.connectionStateRecovery);
  const deflate = perMessageDeflate(o.perMessageDeflate);
  const { polling, websocket } = transports(o.transports);
  const native = {
    path: normalizePath(o.path),
    pingInterval: milliseconds("pingInterval", o.pingInterval),
    pingTimeout: milliseconds("pingTimeout", o.pingTimeout),
    upgradeTimeout: milliseconds("upgradeTimeout", o.upgradeTimeout),
    maxHttpBufferSize: nonNegative("maxHttpBufferSize", o.maxHttpBufferSize, "bytes"),
    connectTimeout: milliseconds("connectTimeout", o.connectTimeout),
    polling,
    websocket,
    corsOrigins: cors.origins,
    corsCredentials: cors.credentials,
    corsMethods: corsList("methods", o.cors && o.cors.methods),
    corsAllowedHeaders: corsList("allowedHeaders", o.cors && (o.cors.allowedHeaders || o.cors.headers)),
    cleanupEmptyChildNamespaces: Boolean(o.cleanupEmptyChildNamespaces),
    allowEio3: Boolean(o.allowEIO3),
    msgpack: usesMsgpack(o.parser),
    httpCompressionThreshold: compressionThreshold(o.httpCompression),
    perMessageDeflateThreshold: deflate.threshold,
    perMessageDeflateLevel: deflate.level,
    recoveryMaxDisconnectionDuration: resume.duration,
    recoverySkipMiddlewares: resume.skip,
    maxQueuedFrames: o.maxQueuedFrames === undefined ? undefined : nonNegative("maxQueuedFrames", o.maxQueuedFrames, "frames"),
    maxChildNamespaces:
      o.maxChildNamespaces === undefined ? undefined : nonNegative("maxChildNamespaces", o.maxChildNamespaces, "namespaces"),
    maxPendingAcks: o.maxPendingAcks === undefined ? undefined : nonNegative("maxPendingAcks", o.maxPendingAcks, "acknowledgements"),
    maxQueuedBytes: optionalCap("maxQueuedBytes", o.maxQueuedBytes),
    maxHostBacklogPerSocket: optionalCap("maxHostBacklogPerSocket", o.maxHostBacklogPerSocket),
    maxHostBacklog: optionalCap("maxHostBacklog", o.maxHostBacklog),
    httpHeaderTimeout: o.httpHeaderTimeout === undefined ? undefined : milliseconds("httpHeaderTimeout", o.httpHeaderTimeout),
    httpBodyTimeout: o.httpBodyTimeout === undefined ? undefined : milliseconds("httpBodyTimeout", o.httpBodyTimeout),
    maxConnections: optionalCap("maxConnections", o.maxConnections),
    maxConnectionsPerIp: optionalCap("maxConnectionsPerIp", o.maxConnectionsPerIp),
    maxSessions: optionalCap("maxSessions", o.maxSessions),
    redis: nativeAdapter(o.adapter),
    routeSessions: routeSessions(o.routeSessions),
  };
  return { options: o, native };
}

module.exports = { normalize, DEFAULTS };
