"use strict";

// A round-robin TCP proxy with no affinity, as a load balancer without sticky sessions: each
// new connection goes to the next backend; a backend that refuses the connection is skipped.

const net = require("node:net");

/**
 * Starts a proxy on a free loopback port in front of `backends` (ports). Resolves to
 * { port, url, targets (the backend index of every connection so far), close() }.
 */
function startProxy(backends) {
  let next = 0;
  const targets = [];
  const sockets = new Set();
  const server = net.createServer((client) => {
    sockets.add(client);
    client.on("close", () => sockets.delete(client));
    client.pause();
    // The next backend in turn; a refusal moves on from that one (not from wherever the
    // turn is by then: concurrent connections would skip the live backends).
    const first = next++;
    const tryBackend = (attempt) => {
      if (attempt >= backends.length) {
        client.destroy();
        return;
      }
      const index = (first + attempt) % backends.length;
      const upstream = net.connect(backends[index], "127.0.0.1");
      upstream.once("error", () => {
        if (upstream.connecting || !upstream.remoteAddress) tryBackend(attempt + 1);
      });
      upstream.once("connect", () => {
        targets.push(index);
        sockets.add(upstream);
        upstream.on("close", () => sockets.delete(upstream));
        upstream.on("error", () => client.destroy());
        client.on("error", () => upstream.destroy());
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
      });
    };
    tryBackend(0);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      resolve({
        port,
        url: `http://127.0.0.1:${port}`,
        targets,
        /** The next connection goes to backend `index`. */
        aim(index) {
          next = index;
        },
        close() {
          for (const s of sockets) s.destroy();
          return new Promise((done) => server.close(() => done()));
        },
      });
    });
  });
}

module.exports = { startProxy };
