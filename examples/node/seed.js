"use strict";

// The seed scenarios of roomcast, with its Node API (socket.io's, imported from "roomcast"):
//
// - GET / serves examples/seed.html; the page loads /socket.io/socket.io.js (socket.io-client's
//   bundle, served by roomcast) and connects to /my-namespace;
// - /my-namespace greets everyone with nsp.emit("hi", "Hello everyone!"), which the page prints;
// - on /, every socket joins "some room" and io.to("some room").emit("some event") greets it;
//   "say to someone" reaches one socket through the room named by its id;
// - leaving every room on disconnect needs no code.
//
// PORT (default 3000, 0 = any free port) and HOST (default 127.0.0.1) choose the address.

const fs = require("node:fs");
const http = require("node:http");
const path = require("node:path");
const { Server } = require("roomcast");

const SEED_PAGE = fs.readFileSync(path.join(__dirname, "..", "seed.html"));

const httpServer = http.createServer((req, res) => {
  if (req.method === "GET" && (req.url === "/" || req.url === "/index.html")) {
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end(SEED_PAGE);
    return;
  }
  res.writeHead(404, { "content-type": "text/plain" });
  res.end("not found");
});

const io = new Server(httpServer);

io.on("connection", (socket) => {
  console.log(`someone connected to / as ${socket.id}`);
  socket.join("some room");
  io.to("some room").emit("some event");

  socket.on("say to someone", (id, msg) => {
    socket.broadcast.to(id).emit("my message", msg);
  });

  socket.on("disconnect", (reason) => {
    // Rooms are already left: nothing to tear down.
    console.log(`${socket.id} left (${reason})`);
  });
});

io.of("/my-namespace").on("connection", (socket) => {
  console.log("someone connected to /my-namespace");
  socket.nsp.emit("hi", "Hello everyone!");
});

process.on("SIGINT", () => io.close());
process.on("SIGTERM", () => io.close());

const port = Number(process.env.PORT ?? 3000);
const host = process.env.HOST || "127.0.0.1";
httpServer.listen(port, host, () => {
  const { port: bound } = httpServer.address();
  console.log(`roomcast seed demo listening on http://${host}:${bound}/ (Ctrl-C to stop)`);
});
