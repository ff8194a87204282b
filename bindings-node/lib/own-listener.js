"use strict";

// `io.httpServer` when roomcast listens on its own port (`new Server(port)`, `io.listen(port)`).
// socket.io creates an http.Server there, and code written for it reads
// `io.httpServer.address().port`, waits for "listening" and calls `close()`. roomcast's
// listener is Rust's, so this object answers those calls for it: what it reports is the
// native listener's state, and closing it closes the roomcast server that owns the listener.

const { EventEmitter } = require("node:events");

class OwnListener extends EventEmitter {
  constructor(io) {
    super();
    this._io = io;
    this.listening = true;
    // The native listener is bound before listen() returns; "listening" follows on the next
    // tick, as an http.Server's does, so a listener attached right after listen() hears it.
    process.nextTick(() => {
      if (this.listening) this.emit("listening");
    });
  }

  address() {
    return this.listening ? this._io.address() : null;
  }

  /** Closes the roomcast server (its listener and connections); `cb` runs when it is done. */
  close(cb) {
    this._io.close(() => {
      if (typeof cb === "function") cb();
    });
    return this;
  }

  /** Called by the server once its listener is released. */
  _released() {
    if (!this.listening) return;
    this.listening = false;
    this.emit("close");
  }

  // An http.Server's process-lifetime controls; roomcast's listener keeps the process alive
  // while it listens and lets go once closed, whatever these say.
  ref() {
    return this;
  }

  unref() {
    return this;
  }
}

module.exports = { OwnListener };
