"use strict";

// Watches the cluster from a terminal: one socket.io-client connection per URL given (default:
// both example nodes), printing every event with the node it came through.
//
//   node examples/cluster/watch.js http://127.0.0.1:3001 http://127.0.0.1:3002

let ioClient;
try {
  ({ io: ioClient } = require("socket.io-client"));
} catch {
  ({ io: ioClient } = require("../../bindings-node/node_modules/socket.io-client"));
}

const urls = process.argv.length > 2 ? process.argv.slice(2) : ["http://127.0.0.1:3001", "http://127.0.0.1:3002"];

for (const url of urls) {
  const socket = ioClient(url, { transports: ["websocket"] });
  socket.on("connect", () => {
    socket.emit("whoami", (name) => console.log(`${url}: connected to ${name} as ${socket.id}`));
  });
  socket.onAny((event, ...args) => console.log(`${url}: ${event} ${args.map((a) => JSON.stringify(a)).join(" ")}`));
  socket.on("disconnect", (reason) => console.log(`${url}: disconnected (${reason})`));
}
