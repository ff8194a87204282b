"use strict";

// Bounded waits on events. Nothing here sleeps to "let things settle": every wait ends on an
// event, or fails after a bound. expectNothing() is the one deliberate, named silent window.

const DEFAULT_TIMEOUT_MS = 3000;

function subscribe(emitter, event, listener) {
  emitter.on(event, listener);
  return () => {
    if (typeof emitter.off === "function") emitter.off(event, listener);
    else emitter.removeListener(event, listener);
  };
}

function describeEmitter(emitter) {
  if (emitter && typeof emitter.nsp === "string") return `socket ${emitter.nsp}`;
  return emitter && emitter.constructor ? emitter.constructor.name : "emitter";
}

/**
 * Resolves with the argument list of the next `event` on `emitter`, rejects after `timeoutMs`.
 * If `rejectOn` names other events (e.g. "connect_error"), their arrival rejects.
 */
function once(emitter, event, timeoutMs = DEFAULT_TIMEOUT_MS, { rejectOn = [] } = {}) {
  return new Promise((resolve, reject) => {
    const offs = [];
    const done = () => {
      clearTimeout(timer);
      offs.forEach((off) => off());
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for "${event}" on ${describeEmitter(emitter)}`));
    }, timeoutMs);
    offs.push(
      subscribe(emitter, event, (...args) => {
        done();
        resolve(args);
      }),
    );
    for (const other of rejectOn) {
      offs.push(
        subscribe(emitter, other, (...args) => {
          done();
          const detail = args[0] instanceof Error ? args[0].message : JSON.stringify(args);
          reject(new Error(`got "${other}" (${detail}) while waiting for "${event}"`));
        }),
      );
    }
  });
}

/** Resolves with the first argument list of `event` for which `predicate(...args)` is true. */
function onceMatching(emitter, event, predicate, timeoutMs = DEFAULT_TIMEOUT_MS) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for a matching "${event}"`));
    }, timeoutMs);
    const off = subscribe(emitter, event, (...args) => {
      if (!predicate(...args)) return;
      clearTimeout(timer);
      off();
      resolve(args);
    });
  });
}

/**
 * Starts collecting `event` immediately; `.wait(count, timeoutMs)` resolves with the first
 * `count` argument lists. `.all` holds everything collected so far; `.stop()` unsubscribes.
 */
function collector(emitter, event) {
  const all = [];
  let waiter = null;
  const off = subscribe(emitter, event, (...args) => {
    all.push(args);
    if (waiter && all.length >= waiter.count) {
      const w = waiter;
      waiter = null;
      clearTimeout(w.timer);
      w.resolve(all.slice(0, w.count));
    }
  });
  return {
    all,
    stop: off,
    wait(count, timeoutMs = DEFAULT_TIMEOUT_MS) {
      if (all.length >= count) return Promise.resolve(all.slice(0, count));
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiter = null;
          reject(
            new Error(`timed out after ${timeoutMs} ms: got ${all.length} of ${count} "${event}" events`),
          );
        }, timeoutMs);
        waiter = { count, resolve, timer };
      });
    },
  };
}

/** Collects exactly `count` occurrences of `event` (argument lists), bounded by `timeoutMs`. */
function collect(emitter, event, count, timeoutMs = DEFAULT_TIMEOUT_MS) {
  const c = collector(emitter, event);
  return c.wait(count, timeoutMs).finally(() => c.stop());
}

/**
 * A deliberate, bounded silent window: resolves if `event` does NOT fire on `emitter` within
 * `ms`, rejects as soon as it does.
 */
function expectNothing(emitter, event, ms = 300) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      resolve();
    }, ms);
    const off = subscribe(emitter, event, (...args) => {
      clearTimeout(timer);
      off();
      reject(new Error(`unexpected "${event}" within ${ms} ms: ${safeJson(args)}`));
    });
  });
}

/** Emits with an acknowledgement; resolves with the full list of ack arguments. */
function emitWithAckArgs(socket, event, ...args) {
  return emitWithAckArgsTimeout(socket, DEFAULT_TIMEOUT_MS, event, ...args);
}

function emitWithAckArgsTimeout(socket, timeoutMs, event, ...args) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`no ack for "${event}" within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.emit(event, ...args, (...res) => {
      clearTimeout(timer);
      resolve(res);
    });
  });
}

/** Emits with an acknowledgement; resolves with the first ack argument. */
async function emitWithAck(socket, event, ...args) {
  const res = await emitWithAckArgs(socket, event, ...args);
  return res[0];
}

/** Rejects with a readable error if `promise` does not settle within `timeoutMs`. */
function within(promise, timeoutMs, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms: ${what}`)), timeoutMs);
    }),
  ]).finally(() => clearTimeout(timer));
}

function safeJson(value) {
  try {
    return JSON.stringify(value, (k, v) => (v && v.type === "Buffer" ? `<Buffer ${v.data.length}>` : v));
  } catch {
    return String(value);
  }
}


let markerCounter = 0;

/**
 * Watches `event` on `sockets` from now on. `settle(via)` proves, without a timed window, that
 * nothing more is on its way: it has the server send a marker to each watched socket (an
 * `emit-to` from the connected "/" socket `via`) and waits for every marker. The scenario
 * contract has the server handle a socket's events in order, queue an event's emits before its
 * ack, and deliver on each connection in order, so an `event` caused by anything acknowledged
 * before settle() (or sent earlier by `via` itself) arrives before the marker.
 * Resolves with the argument lists received by each socket, in the order of `sockets`.
 */
function watch(sockets, event) {
  const collectors = sockets.map((s) => collector(s, event));
  return {
    received: () => collectors.map((c) => c.all.slice()),
    counts: () => collectors.map((c) => c.all.length),
    async settle(via, timeoutMs = DEFAULT_TIMEOUT_MS) {
      markerCounter += 1;
      const token = `marker-${process.pid}-${markerCounter}`;
      const arrived = sockets.map((s) => onceMatching(s, "marker", (t) => t === token, timeoutMs));
      const byNsp = new Map();
      for (const s of sockets) {
        if (!byNsp.has(s.nsp)) byNsp.set(s.nsp, []);
        byNsp.get(s.nsp).push(s.id);
      }
      for (const [nsp, ids] of byNsp) {
        const ok = await emitWithAck(via, "emit-to", { nsp, rooms: ids, event: "marker", args: [token] });
        if (ok !== true) throw new Error(`emit-to for the marker answered ${JSON.stringify(ok)}`);
      }
      await Promise.all(arrived);
      collectors.forEach((c) => c.stop());
      return collectors.map((c) => c.all.slice());
    },
  };
}

/**
 * Retries `fn` until it resolves, within a bound: for effects that travel through another
 * process (Redis, another node) and have no event of their own to wait on.
 */
async function eventually(fn, timeoutMs = 5000, what = "condition") {
  const deadline = Date.now() + timeoutMs;
  let lastError;
  while (Date.now() < deadline) {
    try {
      return await fn();
    } catch (err) {
      lastError = err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`${what} not reached within ${timeoutMs} ms: ${lastError && lastError.message}`);
}

/**
 * The first arguments a `collector` holds, or gets within `timeoutMs`, that satisfy
 * `predicate` (events that may have come before the wait started count).
 */
async function firstCollected(collected, predicate, timeoutMs = DEFAULT_TIMEOUT_MS) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = collected.all.find((args) => predicate(...args));
    if (found) return found;
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for a matching event`);
    await collected.wait(collected.all.length + 1, left).catch(() => {});
  }
}

module.exports = {
  DEFAULT_TIMEOUT_MS,
  eventually,
  firstCollected,
  once,
  onceMatching,
  collector,
  collect,
  expectNothing,
  emitWithAck,
  emitWithAckArgs,
  emitWithAckArgsTimeout,
  within,
  watch,
};
