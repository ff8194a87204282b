"use strict";

// roomcast: a Socket.IO server whose engine (protocol, rooms, fan-out) is Rust, with the
// API of socket.io's Server. `const { Server } = require("roomcast")`.

const { Server } = require("./lib/server");
const { Namespace, ParentNamespace } = require("./lib/namespace");
const { Socket } = require("./lib/socket");
const { BroadcastOperator, RemoteSocket } = require("./lib/operator");
const {
  createAdapter,
  RedisAdapter,
  createStreamsAdapter,
  RedisStreamsAdapter,
  createShardedAdapter,
  RedisShardedAdapter,
} = require("./lib/adapter");
const { Emitter } = require("./lib/emitter");
const { instrument, InMemoryStore } = require("./lib/admin");

// As socket.io's CommonJS entry, the module itself is callable:
// `require("roomcast")(httpServer, opts)` is `new Server(httpServer, opts)`.
function roomcast(srv, opts) {
  return new Server(srv, opts);
}

module.exports = Object.assign(roomcast, {
  Server,
  Namespace,
  ParentNamespace,
  Socket,
  BroadcastOperator,
  RemoteSocket,
  createAdapter,
  RedisAdapter,
  createStreamsAdapter,
  RedisStreamsAdapter,
  createShardedAdapter,
  RedisShardedAdapter,
  Emitter,
  instrument,
  InMemoryStore,
});
