// Comparison server: the reference socket.io implementation (Node).
// Implements the bench wire contract (see bench/README.md): join, fanout, echo, chat.
// Usage: PORT=3000 node bench/servers/socketio.js
// SOCKETIO_TLS=1 serves wss:// on an https.Server with the repository's test certificate.
"use strict";

const fs = require("node:fs");
const http = require("node:http");
const https = require("node:https");
const path = require("node:path");

// Resolve socket.io from bench/node_modules regardless of the working directory.
const { Server } = require(require.resolve("socket.io", { paths: [path.join(__dirname, "..")] }));

const port = Number(process.env.PORT || 3000);
const host = process.env.HOST || "127.0.0.1";

const notFound = (req, res) => {
  res.writeHead(404);
  res.end();
};
const fixtures = path.join(__dirname, "..", "..", "tests", "fixtures", "tls");
const httpServer = process.env.SOCKETIO_TLS === "1"
  ? https.createServer(
    { key: fs.readFileSync(path.join(fixtures, "localhost-key.pem")), cert: fs.readFileSync(path.join(fixtures, "localhost-cert.pem")) },
    notFound,
  )
  : http.createServer(notFound);

const io = new Server(httpServer, {
  transports: ["websocket"],
  serveClient: false,
  perMessageDeflate: false,
  maxHttpBufferSize: 1e6,
});

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

httpServer.listen(port, host, 4096, () => {
  console.log(`listening on ${httpServer.address().port}`);
});

for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, () => {
    io.close();
    process.exit(0);
  });
}
