"use strict";

// `socket.data` is a plain object in JavaScript and JSON text in the core (which is what
// fetchSockets() and other cluster nodes read). Changes are tracked through a proxy — top level
// and nested plain objects / arrays — and the JSON is pushed to the core once per microtask
// turn. Values must be JSON-serialisable; mutations inside a Map, Set or class instance are not
// seen (assign `socket.data.x = ...` again, or reassign `socket.data`).

function isPlain(value) {
  if (value === null || typeof value !== "object") return false;
  if (Array.isArray(value)) return true;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** A proxy over `root` calling `onChange` after every write, at any depth. */
function track(root, onChange) {
  const proxies = new WeakMap();
  const targets = new WeakMap();
  const unwrap = (value) => (value !== null && typeof value === "object" && targets.has(value) ? targets.get(value) : value);
  const handler = {
    get(target, key) {
      const value = Reflect.get(target, key);
      return isPlain(value) ? wrap(value) : value;
    },
    set(target, key, value) {
      const ok = Reflect.set(target, key, unwrap(value));
      onChange();
      return ok;
    },
    deleteProperty(target, key) {
      const ok = Reflect.deleteProperty(target, key);
      onChange();
      return ok;
    },
    defineProperty(target, key, descriptor) {
      const ok = Reflect.defineProperty(target, key, descriptor);
      onChange();
      return ok;
    },
  };
  function wrap(value) {
    let proxy = proxies.get(value);
    if (!proxy) {
      proxy = new Proxy(value, handler);
      proxies.set(value, proxy);
      targets.set(proxy, value);
    }
    return proxy;
  }
  return isPlain(root) ? wrap(root) : root;
}

/** Pushes dirty sockets' data to the core, once per microtask turn. */
class DataSync {
  constructor(onError) {
    this.dirty = new Set();
    this.scheduled = false;
    this.onError = onError;
  }

  mark(socket) {
    this.dirty.add(socket);
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => this.flush());
  }

  flush() {
    this.scheduled = false;
    const sockets = [...this.dirty];
    this.dirty.clear();
    for (const socket of sockets) {
      let json;
      try {
        json = JSON.stringify(socket._data);
      } catch (err) {
        this.onError(err, socket);
        continue;
      }
      socket._native.setData(json === undefined ? "null" : json);
    }
  }
}

module.exports = { track, DataSync };
