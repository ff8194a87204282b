// Compiled (not run) by test/types.test.js: socket.io-style typed events must type-check, and
// misuse must not.

import { createServer } from "node:http";
import { Server, Socket, Namespace, createAdapter, createStreamsAdapter, createShardedAdapter, Emitter, RedisAdapter, RedisStreamsAdapter, RedisShardedAdapter, instrument, InMemoryStore } from "roomcast";

interface ClientToServerEvents {
  hello: (name: string, ack: (greeting: string) => void) => void;
  move: (x: number, y: number) => void;
}

interface ServerToClientEvents {
  welcome: (text: string) => void;
  ask: (question: string, ack: (answer: number) => void) => void;
}

interface InterServerEvents {
  ping: () => void;
}

interface SocketData {
  user: string;
  score: number;
}

const httpServer = createServer();
const io = new Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>(httpServer, {
  path: "/socket.io",
  pingInterval: 10000,
  cors: { origin: ["https://example.com"], credentials: true },
  transports: ["websocket", "polling"],
});

io.use((socket, next) => {
  if (socket.handshake.auth.token !== "x") {
    const err = new Error("unauthorized") as Error & { data?: unknown };
    err.data = { reason: "bad token" };
    return next(err);
  }
  next();
});

io.on("connection", (socket) => {
  const s: Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData> = socket;
  socket.data.user = "ada";
  socket.data.score = 1;
  socket.emit("welcome", "hi");
  socket.on("hello", (name, ack) => ack(`hello ${name}`));
  socket.on("move", (x, y) => {
    socket.broadcast.emit("welcome", `${x},${y}`);
  });
  socket.on("disconnect", (reason) => {
    const r: string = reason;
    void r;
  });
  socket.timeout(1000).emit("ask", "how many?", (err, answer) => {
    if (err) return;
    const n: number = answer;
    void n;
  });
  socket.emitWithAck("ask", "again?").then((answer) => {
    const n: number = answer;
    void n;
  });
  socket.join(["a", "b"]);
  socket.to("a").except("b").emit("welcome", "room a");
  void s;

  // @ts-expect-error: "welcome" takes a string
  socket.emit("welcome", 42);
  // @ts-expect-error: unknown event
  socket.emit("nope");
  // @ts-expect-error: "move" gets numbers
  socket.on("move", (x: string) => void x);
});

io.to("room").emit("welcome", "everyone");
io.timeout(500).emit("ask", "all?", (err, answers) => {
  const list: number[] = answers;
  void err;
  void list;
});
io.in("room").fetchSockets().then((sockets) => {
  for (const s of sockets) void s.id;
});
io.socketsJoin("x");
io.socketsLeave("x");
io.disconnectSockets(true);
io.serverSideEmit("ping");

const chat: Namespace<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData> = io.of("/chat");
chat.on("connection", (socket) => socket.emit("welcome", "chat"));
io.of(/^\/room-\d+$/).on("connection", (socket) => socket.emit("welcome", socket.nsp.name));
io.of((name, auth, next) => next(null, name.startsWith("/x"))).on("connection", () => {});
io.on("new_namespace", (nsp) => void nsp.name);

const standalone = new Server(3000);
standalone.emit("anything", 1, 2, 3);
const later = new Server({ pingTimeout: 5000 });
later.listen(3001);
void later.close();

// cluster (Redis)
const clustered = new Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>();
clustered.adapter(createAdapter({ url: "redis://localhost:6379", key: "socket.io", requestsTimeout: 2000 }));
const current: RedisAdapter | RedisStreamsAdapter | RedisShardedAdapter | undefined = clustered.adapter();
void current;
const viaOption = new Server({ adapter: createAdapter("redis://localhost:6379") });
void viaOption;
clustered.on("ping", () => {});
void clustered.of("/").adapter.allRooms().then((rooms: Set<string>) => rooms.size);
// @ts-expect-error: createAdapter takes a URL or options with one
createAdapter(42);
const streams: RedisStreamsAdapter = createStreamsAdapter({ url: "redis://localhost:6379", streamName: "socket.io", maxLen: 1000 });
new Server({ adapter: streams }).adapter(createStreamsAdapter("redis://localhost:6379", { requestsTimeout: 2000 }));
const sharded: RedisShardedAdapter = createShardedAdapter(["redis://10.0.0.1:7000", "redis://10.0.0.2:7000"], { subscriptionMode: "dynamic-private" });
new Server({ adapter: sharded }).adapter(createShardedAdapter({ nodes: "redis://localhost:7000", channelPrefix: "app", requestsTimeout: 2000 }));
const mode: "static" | "dynamic" | "dynamic-private" = sharded.subscriptionMode;

const emitter = new Emitter<ServerToClientEvents, InterServerEvents>({ url: "redis://localhost:6379" });
const done: Promise<void> = emitter.of("/chat").to(["a", "b"]).except("c").volatile.compress(false).emit("welcome", "hi");
void done;
void emitter.emit("welcome", "bin");
void emitter.socketsJoin("room");
void emitter.socketsLeave(["room"]);
void emitter.disconnectSockets(true);
void emitter.serverSideEmit("ping");
// @ts-expect-error: "welcome" takes a string
void emitter.emit("welcome", 1);
const untyped = new Emitter("redis://localhost:6379", { key: "socket.io" });
void untyped.emit("anything", Buffer.from([1]), { n: 1 });

// io.engine: engine.io's connection events
standalone.engine.on("connection", (conn) => {
  const url: string | undefined = conn.request?.url;
  void url;
  delete conn.request;
  conn.on("close", (reason: string) => void reason);
});
standalone.engine.on("connection_error", (err) => {
  const code: number = err.code;
  void [code, err.message, err.context, err.req.headers];
});
standalone.engine.on("initial_headers", (headers, req) => {
  headers["set-cookie"] = ["a=1"];
  void req.url;
});
const clientsCount: number = standalone.engine.clientsCount;
void clientsCount;

// The admin UI, with @socket.io/admin-ui's options and export.
instrument(new Server(), { auth: { type: "basic", username: "admin", password: "$2b$10$..." }, store: new InMemoryStore(), mode: "production" });
new Server().instrument({ auth: false, readonly: true, serverId: "node-1", namespaceName: "/admin" });
// @ts-expect-error auth is required
new Server().instrument({ readonly: true });
