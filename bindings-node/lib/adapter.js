"use strict";

// `createAdapter(...)`: the Redis adapter of roomcast's core, wire-compatible with
// @socket.io/redis-adapter 8, so roomcast nodes (Node, Python, Rust), Node socket.io nodes
// and @socket.io/redis-emitter share one cluster. The core opens and manages the Redis
// connections itself (one subscriber and one publisher per server), so it takes a URL rather
// than redis client objects.

const DEFAULT_KEY = "socket.io";
const DEFAULT_REQUESTS_TIMEOUT = 5000;

/** What `createAdapter` returns: a description of the adapter, applied by `io.adapter()` or
 *  the `adapter` option. Immutable. */
class RedisAdapter {
  constructor(url, key, requestsTimeout) {
    this.url = url;
    this.key = key;
    this.requestsTimeout = requestsTimeout;
    Object.freeze(this);
  }

  /** What the native layer takes. */
  _native() {
    return { url: this.url, key: this.key, requestsTimeout: this.requestsTimeout };
  }
}

/**
 * `createAdapter("redis://localhost:6379")` or
 * `createAdapter({ url, key = "socket.io", requestsTimeout = 5000 })`.
 */
function createAdapter(urlOrOptions, maybeOptions) {
  const opts =
    typeof urlOrOptions === "string" ? { ...(maybeOptions || {}), url: urlOrOptions } : { ...(urlOrOptions || {}) };
  if (urlOrOptions !== null && typeof urlOrOptions === "object" && typeof urlOrOptions.publish === "function") {
    throw new TypeError(
      "roomcast: createAdapter() takes a Redis URL (createAdapter(\"redis://host:6379\") or { url }), " +
        "not redis clients: the core opens its own connections",
    );
  }
  if (typeof opts.url !== "string" || !/^rediss?:\/\//.test(opts.url)) {
    throw new TypeError(`roomcast: createAdapter() needs a redis:// or rediss:// URL, got ${JSON.stringify(opts.url)}`);
  }
  const key = opts.key === undefined ? DEFAULT_KEY : opts.key;
  if (typeof key !== "string" || key === "") throw new TypeError("roomcast: createAdapter() option \"key\" must be a non-empty string");
  const timeout = opts.requestsTimeout === undefined ? DEFAULT_REQUESTS_TIMEOUT : opts.requestsTimeout;
  if (typeof timeout !== "number" || !Number.isFinite(timeout) || timeout < 0) {
    throw new TypeError(`roomcast: createAdapter() option "requestsTimeout" must be a non-negative number of milliseconds, got ${String(timeout)}`);
  }
  return new RedisAdapter(opts.url, key, timeout);
}

/** What `createStreamsAdapter` returns: the Redis Streams adapter, wire-compatible with
 *  @socket.io/redis-streams-adapter 0.3. Immutable. */
class RedisStreamsAdapter {
  constructor(url, streamName, channelPrefix, maxLen, requestsTimeout, sessionKeyPrefix) {
    this.url = url;
    this.streamName = streamName;
    this.channelPrefix = channelPrefix;
    this.maxLen = maxLen;
    this.requestsTimeout = requestsTimeout;
    this.sessionKeyPrefix = sessionKeyPrefix;
    Object.freeze(this);
  }

  _native() {
    return {
      url: this.url,
      key: this.channelPrefix,
      requestsTimeout: this.requestsTimeout,
      streams: true,
      streamName: this.streamName,
      maxLen: this.maxLen,
      sessionKeyPrefix: this.sessionKeyPrefix,
    };
  }
}

/**
 * `createStreamsAdapter("redis://localhost:6379")` or `createStreamsAdapter({ url,
 * streamName = "socket.io", channelPrefix = "socket.io", maxLen = 10000, requestsTimeout = 5000,
 * sessionKeyPrefix = "sio:session:" })`. With `connectionStateRecovery`, sessions and offsets
 * live in Redis: a client recovers on any node.
 */
function createStreamsAdapter(urlOrOptions, maybeOptions) {
  const opts =
    typeof urlOrOptions === "string" ? { ...(maybeOptions || {}), url: urlOrOptions } : { ...(urlOrOptions || {}) };
  const what = "createStreamsAdapter()";
  if (typeof opts.url !== "string" || !/^rediss?:\/\//.test(opts.url)) {
    throw new TypeError(`roomcast: ${what} needs a redis:// or rediss:// URL (the core opens its own connections), got ${JSON.stringify(opts.url)}`);
  }
  const text = (name, fallback) => {
    const v = opts[name] === undefined ? fallback : opts[name];
    if (typeof v !== "string" || v === "") throw new TypeError(`roomcast: ${what} option "${name}" must be a non-empty string`);
    return v;
  };
  const count = (name, fallback, min) => {
    const v = opts[name] === undefined ? fallback : opts[name];
    if (typeof v !== "number" || !Number.isFinite(v) || v < min) {
      throw new TypeError(`roomcast: ${what} option "${name}" must be a number >= ${min}, got ${String(v)}`);
    }
    return v;
  };
  return new RedisStreamsAdapter(
    opts.url,
    text("streamName", DEFAULT_KEY),
    text("channelPrefix", DEFAULT_KEY),
    Math.floor(count("maxLen", 10000, 1)),
    count("requestsTimeout", DEFAULT_REQUESTS_TIMEOUT, 0),
    text("sessionKeyPrefix", "sio:session:"),
  );
}

const SUBSCRIPTION_MODES = ["static", "dynamic", "dynamic-private"];

/** What `createShardedAdapter` returns: the sharded pub/sub adapter for a Redis Cluster,
 *  wire-compatible with createShardedAdapter of @socket.io/redis-adapter. Immutable. */
class RedisShardedAdapter {
  constructor(nodes, channelPrefix, subscriptionMode, requestsTimeout) {
    this.nodes = Object.freeze(nodes);
    this.channelPrefix = channelPrefix;
    this.subscriptionMode = subscriptionMode;
    this.requestsTimeout = requestsTimeout;
    Object.freeze(this);
  }

  _native() {
    return {
      url: this.nodes[0],
      key: this.channelPrefix,
      requestsTimeout: this.requestsTimeout,
      sharded: true,
      nodes: [...this.nodes],
      subscriptionMode: this.subscriptionMode,
    };
  }
}

/**
 * `createShardedAdapter("redis://host:7000")`, `createShardedAdapter([url, ...], opts)` or
 * `createShardedAdapter({ nodes, channelPrefix = "socket.io", subscriptionMode = "dynamic",
 * requestsTimeout = 5000 })`: the Redis Cluster's nodes (one reachable node is enough).
 */
function createShardedAdapter(nodesOrOptions, maybeOptions) {
  const what = "createShardedAdapter()";
  const direct = typeof nodesOrOptions === "string" || Array.isArray(nodesOrOptions);
  const opts = direct ? { ...(maybeOptions || {}), nodes: nodesOrOptions } : { ...(nodesOrOptions || {}) };
  if (nodesOrOptions !== null && typeof nodesOrOptions === "object" && typeof nodesOrOptions.sPublish === "function") {
    throw new TypeError(`roomcast: ${what} takes the Redis Cluster's node URLs, not redis clients: the core opens its own connections`);
  }
  const nodes = typeof opts.nodes === "string" ? [opts.nodes] : opts.nodes;
  if (!Array.isArray(nodes) || nodes.length === 0 || !nodes.every((n) => typeof n === "string" && /^rediss?:\/\//.test(n))) {
    throw new TypeError(`roomcast: ${what} needs a redis:// or rediss:// cluster node URL or a list of them, got ${JSON.stringify(opts.nodes)}`);
  }
  const prefix = opts.channelPrefix === undefined ? DEFAULT_KEY : opts.channelPrefix;
  if (typeof prefix !== "string" || prefix === "") throw new TypeError(`roomcast: ${what} option "channelPrefix" must be a non-empty string`);
  const mode = opts.subscriptionMode === undefined ? "dynamic" : opts.subscriptionMode;
  if (!SUBSCRIPTION_MODES.includes(mode)) {
    throw new TypeError(`roomcast: ${what} option "subscriptionMode" must be one of ${SUBSCRIPTION_MODES.join(", ")}, got ${JSON.stringify(mode)}`);
  }
  const timeout = opts.requestsTimeout === undefined ? DEFAULT_REQUESTS_TIMEOUT : opts.requestsTimeout;
  if (typeof timeout !== "number" || !Number.isFinite(timeout) || timeout < 0) {
    throw new TypeError(`roomcast: ${what} option "requestsTimeout" must be a non-negative number of milliseconds, got ${String(timeout)}`);
  }
  return new RedisShardedAdapter([...nodes], prefix, mode, timeout);
}

/** The native options of an `adapter` value (undefined: the in-memory adapter). */
function nativeAdapter(value) {
  if (value === undefined || value === null) return undefined;
  if (value instanceof RedisAdapter || value instanceof RedisStreamsAdapter || value instanceof RedisShardedAdapter) {
    return value._native();
  }
  throw new TypeError(
    "roomcast: the adapter must come from roomcast's createAdapter(), createStreamsAdapter() or createShardedAdapter() " +
      "(const { createAdapter } = require(\"roomcast\")); socket.io adapter classes cannot run inside roomcast",
  );
}

module.exports = {
  createAdapter,
  RedisAdapter,
  createStreamsAdapter,
  RedisStreamsAdapter,
  createShardedAdapter,
  RedisShardedAdapter,
  nativeAdapter,
};
