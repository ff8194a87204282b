"use strict";

// A listener that throws or rejects is reported here and isolated: the socket stays
// connected, other listeners and sockets are unaffected.

function isThenable(value) {
  return value !== null && (typeof value === "object" || typeof value === "function") && typeof value.then === "function";
}

/** Reports `err` from `where` (e.g. `"chat" listener of socket <id> on /`) through the server's
 *  `onHandlerError` option, or on stderr. */
function report(server, err, where) {
  const handler = server && server._onHandlerError;
  if (typeof handler === "function") {
    try {
      handler(err, where);
      return;
    } catch (inner) {
      err = inner;
    }
  }
  const detail = err && err.stack ? err.stack : String(err);
  process.stderr.write(`roomcast: ${where} failed: ${detail}\n`);
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

module.exports = { report, guarded, isThenable };
