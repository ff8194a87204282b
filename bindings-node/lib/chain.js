"use strict";

const { isThenable } = require("./report");

/**
 * Runs socket.io-style middlewares `fn(arg, next)` in order, with `this` bound to `thisArg`;
 * calls `done(err)` once: with the first error passed to `next`, or null after the last one.
 * A middleware that throws or returns a rejected promise fails the chain with `failure(e)`.
 */
function runChain(fns, thisArg, arg, done, failure) {
  const chain = fns.slice();
  let i = 0;
  const step = (err) => {
    if (err) return done(err);
    if (i >= chain.length) return done(null);
    const fn = chain[i++];
    let called = false;
    const next = (e) => {
      if (called) return;
      called = true;
      step(e);
    };
    try {
      const result = fn.call(thisArg, arg, next);
      if (isThenable(result)) result.then(undefined, (e) => next(failure(e)));
    } catch (e) {
      next(failure(e));
    }
  };
  step(null);
}

module.exports = { runChain };
