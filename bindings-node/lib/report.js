"use strict";

// Failures of the application's code (listeners, middlewares, callbacks). By default they are
// thrown again, outside roomcast's dispatch loop, as uncaught exceptions: socket.io and Node's
// EventEmitter do so, and test runners see a failed assertion inside a handler that way. With
// the `catchHandlerErrors` option (or an `onHandlerError(err, where)` function) they are caught,
// reported and isolated instead: the socket stays connected.

function isThenable(value) {
  return value !== null && (typeof value === "object" || typeof value === "function") && typeof value.then === "function";
}

function print(err, where) {
  const detail = err && err.stack ? err.stack : String(err);
  process.stderr.write(`roomcast: ${where} failed: ${detail}\n`);
}

/** Hands `err` to the `onHandlerError` option; false when there is none. A handler that throws
 *  is reported on stderr. */
function toHandler(server, err, where) {
  const handler = server && server._onHandlerError;
  if (typeof handler !== "function") return false;
  try {
    handler(err, where);
  } catch (inner) {
    print(inner, "the onHandlerError option");
  }
  return true;
}

/** A failure of the application's code from `where` (e.g. `"chat" listener of socket <id> on
 *  /`): thrown as an uncaught exception on the next tick, or reported when caught. The throw
 *  is deferred so that the records after this one are still dispatched. */
function report(server, err, where) {
  if (toHandler(server, err, where)) return;
  if (server && server._catchHandlerErrors) {
    print(err, where);
    return;
  }
  process.nextTick(() => {
    throw err;
  });
}

/** A failure of roomcast itself or of a client's input (never the application's code): always
 *  reported, never thrown. */
function warn(server, err, where) {
  if (!toHandler(server, err, where)) print(err, where);
}

/** Calls `fn`, reporting a throw or a rejection; returns the promise (settled without error)
 *  when `fn` returned one, else undefined. */
function guarded(server, where, fn, self, args) {
  let result;
  try {
    result = fn.apply(self, args);
  } catch (err) {
    report(server, err, where);
    return undefined;
  }
  if (isThenable(result)) {
    return Promise.resolve(result).then(
      () => undefined,
      (err) => report(server, err, where),
    );
  }
  return undefined;
}

module.exports = { report, warn, guarded, isThenable };
