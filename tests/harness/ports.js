"use strict";

// A free loopback port, for servers the tests and benchmarks start themselves.

const net = require("node:net");

/** A port nothing listens on right now (the OS picks it; another process may still take it). */
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

module.exports = { freePort };
