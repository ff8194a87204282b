"use strict";

// The server the official Socket.IO v5 protocol test suite expects (its test-suite.js), written
// with roomcast's Node API: port 3000 (or PORT), path /socket.io/, a 300 ms / 200 ms heartbeat,
// namespaces / and /custom that emit `auth` with the handshake's auth on connect, answer
// `message` with `message-back` and ack `message-with-ack` with the same arguments.

const { Server } = require("./roomcast");

const io = new Server({
  path: "/socket.io/",
  pingInterval: 300,
  pingTimeout: 200,
  maxHttpBufferSize: 1e6,
  connectTimeout: 1000,
});

function serve(socket) {
  socket.emit("auth", socket.handshake.auth);
  socket.on("message", (...args) => {
    socket.emit("message-back", ...args);
  });
  socket.on("message-with-ack", (...args) => {
    const ack = args.pop();
    ack(...args);
  });
}

io.on("connection", serve);
io.of("/custom").on("connection", serve);

const port = Number(process.env.PORT || 3000);
io.listen(port);
process.stdout.write(`listening on ${port}\n`);

for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => {
    io.close(() => process.exit(0));
  });
}
