"use strict";

// The Socket.IO admin UI (https://admin.socket.io): `instrument(io, options)` with the options
// of `@socket.io/admin-ui`. The namespace, its protocol and every count live in the core; this
// file only checks and normalises the options.

/** Sessions of basic logins are kept by the core, in memory; this class exists so that code
 *  written for `@socket.io/admin-ui` (`store: new InMemoryStore()`) keeps working. */
class InMemoryStore {}

const STATS_INTERVAL_MS = 2000;

/**
 * `options.auth` is required: `false`, or `{ type: "basic", username, password }` with a
 * bcrypt hash as the password. `readonly`, `mode` ("development" by default, or
 * `process.env.NODE_ENV`), `serverId` (the host name by default) and `namespaceName`
 * ("/admin") as in the npm package.
 */
function normalizeAdminOptions(opts = {}) {
  const options = {
    namespaceName: "/admin",
    auth: undefined,
    readonly: false,
    serverId: undefined,
    store: undefined,
    mode: process.env.NODE_ENV || "development",
    ...opts,
  };
  if (options.auth === undefined) {
    throw new Error("the `auth` option must be specified or explicitly set to `false`");
  }
  const native = {
    namespace: String(options.namespaceName),
    readOnly: Boolean(options.readonly),
    // As the npm package: any mode but "development" reports aggregated counts only.
    mode: options.mode === "development" ? "development" : "production",
    serverId: options.serverId === undefined ? undefined : String(options.serverId),
    statsInterval: STATS_INTERVAL_MS,
  };
  if (options.auth !== false) {
    if (!options.auth || options.auth.type !== "basic") {
      throw new Error("invalid `auth` option, please check the documentation");
    }
    if (typeof options.auth.password !== "string") {
      throw new Error("the `password` field must be a valid bcrypt hash");
    }
    native.username = String(options.auth.username);
    native.passwordHash = options.auth.password;
  }
  if (options.store !== undefined && !(options.store instanceof InMemoryStore) && options.store?.constructor?.name !== "InMemoryStore") {
    throw new Error(
      "roomcast keeps the admin UI's sessions in memory: the `store` option takes only an InMemoryStore " +
        "(a Redis store is not supported; each node of a cluster checks logins itself)",
    );
  }
  return native;
}

/** `instrument(io, options)`, as exported by `@socket.io/admin-ui`. */
function instrument(io, opts) {
  if (!io || typeof io.instrument !== "function") {
    throw new TypeError("instrument() takes a roomcast Server");
  }
  return io.instrument(opts);
}

module.exports = { instrument, InMemoryStore, normalizeAdminOptions };
