"use strict";

// Node A of the cluster example: a roomcast server (Node API) with the Redis adapter.
//
//   REDIS_URL   redis://127.0.0.1:6379 by default
//   PORT, HOST  3001 and 127.0.0.1 by default (PORT=0: any free port)
//
// It serves index.html at / and the browser client at /socket.io/socket.io.js, and answers
// "whoami" with its name. Broadcasts made on node B (Python) or by emitter.py reach its clients.

const fs = require("node:fs");
const http = require("node:http");
const path = require("node:path");

// `npm install ./bindings-node` makes "roomcast" resolvable; in this repository the package
// directory works as is.
let roomcast;
try {
  roomcast = require("roomcast");
} catch {
  roomcast = require("../../bindings-node");
}
const { Server, createAdapter, createStreamsAdapter, createShardedAdapter } = roomcast;

const NAME = "node A (Node)";
const PAGE = fs.readFileSync(path.join(__dirname, "index.html"));

const httpServer = http.createServer((req, res) => {
  if (req.method === "GET" && (req.url === "/" || req.url === "/index.html")) {
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end(PAGE);
    return;
  }
  res.writeHead(404, { "content-type": "text/plain" });
  res.end("not found");
});

// ADAPTER picks the Redis adapter: pubsub (default), streams (with connection state recovery,
// across nodes; and no sticky sessions needed in front), or sharded (REDIS_URL lists Redis
// Cluster nodes, comma-separated).
const REDIS_URL = process.env.REDIS_URL || "redis://127.0.0.1:6379";
const ADAPTER = process.env.ADAPTER || "pubsub";
const io = new Server(httpServer, {
  cors: { origin: "*" },
  ...(ADAPTER === "streams"
    ? { connectionStateRecovery: {}, routeSessions: { url: REDIS_URL } }
    : {}),
});
if (ADAPTER === "streams") io.adapter(createStreamsAdapter({ url: REDIS_URL }));
else if (ADAPTER === "sharded") io.adapter(createShardedAdapter({ nodes: REDIS_URL.split(",") }));
else io.adapter(createAdapter({ url: REDIS_URL }));

io.on("connection", (socket) => {
  socket.on("whoami", (ack) => typeof ack === "function" && ack(NAME));
  // Every client of the cluster hears about it, whichever node it is connected to.
  io.emit("joined", `${socket.id} joined ${NAME}`);
});

// Sent by emitter.py (or any node) with serverSideEmit.
io.on("announce", (text) => console.log(`${NAME} heard: ${text}`));

const shutdown = () => io.close(() => process.exit(0));
process.on("SIGINT", shutdown);
process.on("SIGTERM", shutdown);

const port = Number(process.env.PORT ?? 3001);
const host = process.env.HOST || "127.0.0.1";
httpServer.listen(port, host, () => {
  console.log(`${NAME} listening on http://${host}:${httpServer.address().port}/`);
});
