"use strict";

// An express app and Socket.IO on one port: express answers its routes, roomcast answers
// /socket.io/ (long-polling and WebSocket, with the engine in Rust). The routes use the
// Socket.IO server too: list the connected sockets, broadcast to a room.
//
//   GET  /                 a tiny page that connects and shows the news
//   GET  /api/sockets      the connected sockets, their rooms and data
//   POST /api/news         {"room": "...", "text": "..."} -> io.to(room).emit("news", text)
//
// PORT (default 3000, 0 = any free port) and HOST (default 127.0.0.1) choose the address.

const http = require("node:http");
const express = require("express");
const { Server } = require("roomcast");

const app = express();
app.use(express.json());

const PAGE = `<!DOCTYPE html>
<html>
  <head><title>roomcast + express</title></head>
  <body>
    <ul id="news"></ul>
    <script src="/socket.io/socket.io.js"></script>
    <script>
      const socket = io({ auth: { name: "browser" } });
      socket.emit("join", "lobby");
      socket.on("news", (text) => {
        const li = document.createElement("li");
        li.textContent = text;
        document.getElementById("news").appendChild(li);
      });
    </script>
  </body>
</html>`;

app.get("/", (req, res) => res.type("html").send(PAGE));

app.get("/api/sockets", async (req, res, next) => {
  try {
    const sockets = await io.fetchSockets();
    res.json(sockets.map((s) => ({ id: s.id, rooms: [...s.rooms], data: s.data })));
  } catch (err) {
    next(err);
  }
});

app.post("/api/news", (req, res) => {
  const { room, text } = req.body || {};
  if (typeof text !== "string") return res.status(400).json({ error: "text must be a string" });
  (room ? io.to(room) : io).emit("news", text);
  res.json({ sent: true });
});

const httpServer = http.createServer(app);
const io = new Server(httpServer);

io.use((socket, next) => {
  const name = socket.handshake.auth.name;
  if (typeof name !== "string" || name === "") {
    const err = new Error("a name is required");
    err.data = { hint: "connect with { auth: { name } }" };
    return next(err);
  }
  socket.data.name = name;
  next();
});

io.on("connection", (socket) => {
  socket.on("join", (room, ack) => {
    socket.join(room);
    if (typeof ack === "function") ack([...socket.rooms]);
  });
});

process.on("SIGINT", () => io.close());
process.on("SIGTERM", () => io.close());

const port = Number(process.env.PORT ?? 3000);
const host = process.env.HOST || "127.0.0.1";
httpServer.listen(port, host, () => {
  const { port: bound } = httpServer.address();
  console.log(`roomcast + express listening on http://${host}:${bound}/`);
});

module.exports = { app, io, httpServer };
