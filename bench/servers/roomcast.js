// roomcast from Node, implementing the bench wire contract (bench/README.md): join, fanout,
// echo, chat. The same code as servers/socketio.js with roomcast's Server: fan-out in Rust.
// Usage: PORT=3000 node bench/servers/roomcast.js (after `npm run build:release` in bindings-node)
// ROOMCAST_MODE picks how the server meets its clients:
//   listen (default)  io.listen(port): roomcast's own listener
//   http              new Server(httpServer) on a plain http.Server (WebSockets taken over)
//   express           new Server(httpServer) on an express app's http.Server
//   http-piped        as http, with takeOverWebSockets: false (every frame through Node)
//   listen-tls        io.listen(port) serving wss:// (option `tls`)
//   https             new Server(httpsServer, { terminateTls: true }): roomcast's TLS
//   express-https     an express app on an https.Server, terminateTls: true
//   https-piped       an https.Server keeping Node's TLS (every frame through Node)
// The TLS modes use the repository's test certificate (tests/fixtures/tls).
"use strict";

const fs = require("node:fs");
const http = require("node:http");
const https = require("node:https");
const path = require("node:path");
const { Server } = require(path.join(__dirname, "..", "..", "bindings-node"));

const port = Number(process.env.PORT || 3000);
const host = process.env.HOST || "127.0.0.1";
const mode = process.env.ROOMCAST_MODE || "listen";
const MODES = ["listen", "http", "express", "http-piped", "listen-tls", "https", "express-https", "https-piped"];
if (!MODES.includes(mode)) throw new Error(`ROOMCAST_MODE must be one of ${MODES.join(", ")}, got ${mode}`);

const fixtures = path.join(__dirname, "..", "..", "tests", "fixtures", "tls");
const tls = mode.includes("tls") || mode.includes("https")
  ? { key: fs.readFileSync(path.join(fixtures, "localhost-key.pem")), cert: fs.readFileSync(path.join(fixtures, "localhost-cert.pem")) }
  : null;

const opts = { transports: ["websocket"], serveClient: false, host };
let httpServer = null;
let app;
if (mode.startsWith("express")) {
  const express = require("express");
  app = express();
  app.get("/", (req, res) => res.send("ok"));
}
if (mode === "listen-tls") {
  opts.tls = tls;
} else if (tls) {
  httpServer = https.createServer(tls, app);
  opts.terminateTls = mode !== "https-piped";
} else if (mode !== "listen") {
  httpServer = http.createServer(app);
}
if (mode === "http-piped") opts.takeOverWebSockets = false;
// ROOMCAST_TAKE_OVER_AT_ACCEPT (attached modes): 1 takes connections over at accept whatever
// listens to `connection`, 0 only after Node's upgrade event; unset keeps the default ("auto").
if (process.env.ROOMCAST_TAKE_OVER_AT_ACCEPT === "1") opts.takeOverAtAccept = true;
if (process.env.ROOMCAST_TAKE_OVER_AT_ACCEPT === "0") opts.takeOverAtAccept = false;
const io = httpServer ? new Server(httpServer, opts) : new Server(opts);

io.on("connection", (socket) => {
  socket.on("join", (room, ack) => {
    if (typeof room !== "string") return;
    socket.join(room);
    if (typeof ack === "function") ack(room);
  });

  socket.on("fanout", (req) => {
    if (!req || typeof req.room !== "string") return;
    const count = Number(req.count) | 0;
    const event = typeof req.event === "string" ? req.event : "tick";
    const target = io.to(req.room);
    for (let i = 0; i < count; i++) {
      target.emit(event, { i });
    }
  });

  socket.on("echo", (data, ack) => {
    if (typeof ack === "function") ack(data);
  });

  socket.on("chat", (msg) => {
    if (!msg || typeof msg.room !== "string") return;
    io.to(msg.room).emit("chat", msg);
  });
});

if (httpServer) {
  httpServer.listen(port, host, () => console.log(`listening on ${httpServer.address().port}`));
} else {
  Promise.resolve(io.listen(port)).then(() => {
    console.log(`listening on ${io.address().port}`);
  });
}

for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, () => {
    io.close().then(() => process.exit(0));
  });
}
