"use strict";

// `Emitter`: sends to the clients of a cluster from a process that runs no Socket.IO server
// (a worker, a cron job), like @socket.io/redis-emitter, over the core's emitter. Every
// operation returns a Promise settled once Redis has taken the message.

const native = require("./native");
const { encode } = require("./codec");

const DEFAULT_KEY = "socket.io";

function roomList(room) {
  const list = Array.isArray(room) ? room : [room];
  return list.map((r) => String(r));
}

function normalizeNsp(nsp) {
  if (typeof nsp !== "string") throw new TypeError("roomcast: Emitter.of() takes a namespace name");
  return nsp.startsWith("/") ? nsp : `/${nsp}`;
}

class Emitter {
  /**
   * `new Emitter("redis://localhost:6379")`, `new Emitter({ url, key })` or
   * `new Emitter(url, { key })`. `key` is the channel prefix (default "socket.io").
   * Connects on the first operation; nothing to close.
   */
  constructor(urlOrOptions, maybeOptions) {
    if (urlOrOptions instanceof NativeHolder) {
      // internal: a derived emitter
      Object.assign(this, maybeOptions);
      this._holder = urlOrOptions;
      return;
    }
    const opts =
      typeof urlOrOptions === "string" ? { ...(maybeOptions || {}), url: urlOrOptions } : { ...(urlOrOptions || {}) };
    if (typeof opts.url !== "string" || !/^rediss?:\/\//.test(opts.url)) {
      throw new TypeError(
        `roomcast: new Emitter() needs a redis:// or rediss:// URL (new Emitter("redis://host:6379") or { url }), got ${JSON.stringify(opts.url)}`,
      );
    }
    const key = opts.key === undefined ? DEFAULT_KEY : String(opts.key);
    this._holder = new NativeHolder(new native.NativeEmitter(opts.url, key));
    this._nsp = "/";
    this._rooms = [];
    this._except = [];
    this._flags = {};
  }

  _derive(changes) {
    return new Emitter(this._holder, {
      _nsp: this._nsp,
      _rooms: this._rooms,
      _except: this._except,
      _flags: this._flags,
      ...changes,
    });
  }

  _target() {
    return {
      nsp: this._nsp,
      rooms: this._rooms,
      except: this._except,
      volatile: this._flags.volatile === true,
      compress: this._flags.compress,
    };
  }

  /** The same emitter for another namespace (recipients and flags are reset). */
  of(nsp) {
    return this._derive({ _nsp: normalizeNsp(nsp), _rooms: [], _except: [], _flags: {} });
  }

  /** Only the sockets in these rooms (several rooms: each socket once). */
  to(room) {
    return this._derive({ _rooms: [...this._rooms, ...roomList(room)] });
  }

  in(room) {
    return this.to(room);
  }

  /** Skips the sockets in these rooms. */
  except(room) {
    return this._derive({ _except: [...this._except, ...roomList(room)] });
  }

  /** The packet may be dropped for clients that cannot take it right now. */
  get volatile() {
    return this._derive({ _flags: { ...this._flags, volatile: true } });
  }

  compress(compress) {
    return this._derive({ _flags: { ...this._flags, compress: Boolean(compress) } });
  }

  /** Broadcasts `event` to the selected sockets of every node. Acknowledgements are not
   *  supported (as with @socket.io/redis-emitter). */
  emit(event, ...args) {
    try {
      if (typeof event !== "string") throw new TypeError("roomcast: the event name must be a string");
      if (typeof args[args.length - 1] === "function") {
        throw new Error("roomcast: the Emitter does not support acknowledgements");
      }
      const { json, binaries } = encode(args);
      return this._holder.native.emit(this._target(), event, json, binaries);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Makes the selected sockets join rooms, on every node. */
  socketsJoin(rooms) {
    return this._holder.native.socketsJoin(this._target(), roomList(rooms));
  }

  /** Makes the selected sockets leave rooms, on every node. */
  socketsLeave(rooms) {
    return this._holder.native.socketsLeave(this._target(), roomList(rooms));
  }

  /** Disconnects the selected sockets, on every node (`close`: also close the connection). */
  disconnectSockets(close = false) {
    return this._holder.native.disconnectSockets(this._target(), Boolean(close));
  }

  /** Sends an event to the servers of the cluster (their `io.on(event)` listeners); no
   *  acknowledgement. */
  serverSideEmit(event, ...args) {
    try {
      if (typeof event !== "string") throw new TypeError("roomcast: the event name must be a string");
      if (typeof args[args.length - 1] === "function") {
        throw new Error("roomcast: the Emitter's serverSideEmit does not support acknowledgements");
      }
      const { json, binaries } = encode(args);
      return this._holder.native.serverSideEmit(this._nsp, event, json, binaries);
    } catch (err) {
      return Promise.reject(err);
    }
  }
}

/** Shared by an emitter and everything derived from it: one Redis connection. */
class NativeHolder {
  constructor(nativeEmitter) {
    this.native = nativeEmitter;
  }
}

module.exports = { Emitter };
