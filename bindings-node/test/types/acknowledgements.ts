// Compiled (not run) by test/types.test.js with --strict: with typed event maps, what each
// emit accepts and how acknowledgements are typed, as socket.io 4.8 types them. A line
// marked as an expected error fails the build if it stops being an error.

import { Server, Socket, BroadcastOperator, ServerOptions, DisconnectReason, DefaultEventsMap } from "roomcast";

/** Compiles only when `T` and `U` are the same type. */
type Equal<T, U> = (<G>() => G extends T ? 1 : 2) extends <G>() => G extends U ? 1 : 2 ? true : false;
function assertType<T extends true>(): void {}
function exact<T>() {
  return <U>(value: U & T): Equal<T, U> => {
    void value;
    return true as Equal<T, U>;
  };
}

interface FromClient {
  chat: (text: string, room: number) => void;
  join: (room: string, ack: (ok: boolean, members: number) => void) => void;
  bye: () => void;
}

interface ToClient {
  notice: (text: string) => void;
  poll: (question: string, answer: (choice: number) => void) => void;
  ping: (done: () => void) => void;
  message: (text: string, level: number) => void;
}

interface BetweenServers {
  sync: (version: number) => void;
  count: (room: string, reply: (n: number) => void) => void;
}

interface Data {
  user: string;
}

const io = new Server<FromClient, ToClient, BetweenServers, Data>(0);
const nsp = io.of("/game");

// ---- broadcasts: an event with an acknowledgement needs timeout() ----------------------
io.emit("notice", "hi");
nsp.emit("notice", "hi");
io.to("r").emit("notice", "hi");
// @ts-expect-error: "poll" has an acknowledgement; a broadcast needs timeout()
io.emit("poll", "tea?", (choice: number) => void choice);
// @ts-expect-error: the same on a namespace
nsp.emit("poll", "tea?", (choice: number) => void choice);
// @ts-expect-error: an acknowledgement that returns nothing is an acknowledgement too
io.emit("ping", () => {});

// ---- timeout().emit(..., (err, responses) => ...) --------------------------------------
io.timeout(1000).emit("poll", "tea?", (err, responses) => {
  assertType<Equal<typeof err, Error>>();
  assertType<Equal<typeof responses, number[]>>();
});
io.to("room").timeout(50).emit("poll", "coffee?", (err, responses) => {
  assertType<Equal<typeof err, Error>>();
  assertType<Equal<typeof responses, number[]>>();
});
// @ts-expect-error: the responses are numbers
io.timeout(1000).emit("poll", "tea?", (err: Error, responses: string[]) => void [err, responses]);
// @ts-expect-error: the question is a string
io.timeout(1000).emit("poll", 42, () => {});

// ---- emitWithAck: only events with an acknowledgement; resolves to what it returns -------
const many: Promise<number[]> = io.timeout(1000).emitWithAck("poll", "tea?");
exact<Promise<number[]>>()(io.to("room").timeout(10).emitWithAck("poll", "now?"));
// @ts-expect-error: "notice" has no acknowledgement
io.timeout(1000).emitWithAck("notice", "hi");
// @ts-expect-error: "ping"'s acknowledgement returns nothing to wait for
io.timeout(1000).emitWithAck("ping");
// @ts-expect-error: without timeout() a broadcast takes no emitWithAck
io.to("room").emitWithAck("poll", "tea?");
void many;

// ---- unknown events and wrong arguments ------------------------------------------------
// @ts-expect-error: not in the map
io.emit("nonsense", 1);
// @ts-expect-error: "notice" takes a string
io.to("r").emit("notice", 1);
// @ts-expect-error: too many arguments
nsp.emit("notice", "a", "b");
// @ts-expect-error: "message" needs (text, level)
io.send("only text");
io.send("text", 1);

// ---- one socket ------------------------------------------------------------------------
io.on("connection", (socket) => {
  assertType<Equal<typeof socket, Socket<FromClient, ToClient, BetweenServers, Data>>>();
  socket.emit("poll", "tea?", (choice) => {
    assertType<Equal<typeof choice, number>>();
  });
  socket.timeout(500).emit("poll", "tea?", (err, choice) => {
    assertType<Equal<typeof err, Error>>();
    assertType<Equal<typeof choice, number>>();
  });
  const one: Promise<number> = socket.emitWithAck("poll", "tea?");
  exact<Promise<number>>()(socket.timeout(100).emitWithAck("poll", "tea?"));
  void one;
  // @ts-expect-error: "notice" has no acknowledgement
  socket.emitWithAck("notice", "hi");
  // @ts-expect-error: "ping"'s acknowledgement returns nothing
  socket.emitWithAck("ping");
  // A socket's broadcast: responses as an array, and timeout() needed for an acknowledgement.
  socket.broadcast.timeout(100).emit("poll", "all?", (err, responses) => {
    assertType<Equal<typeof responses, number[]>>();
    void err;
  });
  const fromOthers: BroadcastOperator<any, Data> = socket.broadcast;
  void fromOthers;
  // @ts-expect-error: a broadcast's emitWithAck needs timeout()
  socket.broadcast.emitWithAck("poll", "all?");

  // ---- listener parameters ----
  socket.on("chat", (text, room) => {
    assertType<Equal<typeof text, string>>();
    assertType<Equal<typeof room, number>>();
  });
  socket.on("join", (room, ack) => {
    assertType<Equal<typeof ack, (ok: boolean, members: number) => void>>();
    ack(true, 3);
    void room;
  });
  socket.on("bye", (...args) => {
    assertType<Equal<typeof args, []>>();
  });
  socket.on("disconnect", (reason) => {
    assertType<Equal<typeof reason, DisconnectReason>>();
  });
  socket.conn.on("packetCreate", (packet) => {
    assertType<Equal<typeof packet.options, { compress: boolean } | undefined>>();
  });
  // @ts-expect-error: "chat" gets (string, number)
  socket.on("chat", (text: number) => void text);
  // @ts-expect-error: "notice" is an event the server sends, not one it receives
  socket.on("notice", (text: string) => void text);
  socket.data.user = "ada";
  // @ts-expect-error: SocketData has no such field
  socket.data.score = 1;
});

// ---- server-side events ------------------------------------------------------------------
io.serverSideEmit("sync", 3);
io.serverSideEmit("count", "lobby", (err, counts) => {
  assertType<Equal<typeof err, Error>>();
  assertType<Equal<typeof counts, number[]>>();
});
exact<Promise<number[]>>()(io.serverSideEmitWithAck("count", "lobby"));
// @ts-expect-error: "sync" has no acknowledgement
io.serverSideEmitWithAck("sync", 1);
io.on("sync", (version) => {
  assertType<Equal<typeof version, number>>();
});

// ---- untyped maps accept anything, as in socket.io --------------------------------------
const loose = new Server();
loose.emit("anything", 1, "two", { three: 3 });
loose.to("r").timeout(5).emit("anything", (err: Error, responses: unknown[]) => void [err, responses]);
const anyAnswer: Promise<any> = loose.timeout(5).emitWithAck("anything", 1);
void anyAnswer;
loose.on("connection", (socket) => {
  assertType<Equal<typeof socket, Socket<DefaultEventsMap, DefaultEventsMap>>>();
  socket.on("whatever", (...args) => void args);
});

// ---- options -----------------------------------------------------------------------------
const options: Partial<ServerOptions> = {
  path: "/rt",
  serveClient: false,
  pingInterval: 10000,
  transports: ["websocket"],
  cors: { origin: ["https://app.example"], credentials: true, methods: ["GET", "POST"] },
  cleanupEmptyChildNamespaces: true,
  connectionStateRecovery: { maxDisconnectionDuration: 60000 },
};
new Server(options);
// @ts-expect-error: pingInterval is a number of milliseconds
new Server({ pingInterval: "25s" });
// @ts-expect-error: only polling and websocket
new Server({ transports: ["carrier-pigeon"] });
// @ts-expect-error: no such option
new Server({ pingIntervall: 1 });
