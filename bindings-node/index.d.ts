// Type declarations of roomcast's Node API: socket.io's Server API, with the same typed event
// maps (`new Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>()`).

/// <reference types="node" />

import { EventEmitter } from "node:events";
import type { Server as HttpServer } from "node:http";
import type { Server as HttpsServer } from "node:https";

// ---------------------------------------------------------------------------------------------
// typed events

/** A map of event names to listener signatures. */
export interface EventsMap {
  [event: string]: any;
}

/** The event map used when none is given: any name, any arguments. */
export interface DefaultEventsMap {
  [event: string]: (...args: any[]) => void;
}

export type EventNames<Map extends EventsMap> = keyof Map & (string | symbol);

export type EventParams<Map extends EventsMap, Ev extends EventNames<Map>> = Parameters<Map[Ev]>;

// The types below decide which events each emit accepts and how acknowledgements are typed,
// so that an app compiles against roomcast exactly as against socket.io 4.8 (and fails where
// it fails): a broadcast cannot send an event whose signature has an acknowledgement unless
// a timeout is set; `emitWithAck` only takes events with one; after `timeout()` an
// acknowledgement gets an `Error` first; a broadcast's acknowledgement gets one response per
// client, as an array.

/** `true` for `any` only. */
type IsAny<T> = 0 extends 1 & T ? true : false;

/** A parameter list's last element (the element type of a plain array). */
export type Last<T extends readonly unknown[]> = T extends readonly [...infer _Init, infer L]
  ? L
  : T extends ReadonlyArray<infer E>
    ? E
    : never;

/** A parameter list without its last element (the acknowledgement). */
export type AllButLast<T extends any[]> = T extends [...infer Init, infer _L] ? Init : any[];

/** What an acknowledgement callback's caller receives: its first argument that is not the
 *  timeout's `Error`. */
export type FirstNonErrorArg<T> = T extends (...args: infer A) => any ? (A[0] extends Error ? A[1] : A[0]) : any;

type LastParam<F> = F extends (...args: infer P) => any ? Last<P> : never;
type IsFunction<T> = T extends (...args: any[]) => any ? true : false;

/** Events whose last parameter is an acknowledgement that returns something (all of them in
 *  an untyped map). */
export type EventNamesWithAck<Map extends EventsMap, K extends EventNames<Map> = EventNames<Map>> =
  IsAny<Map[K] | LastParam<Map[K]>> extends true
    ? K
    : K extends unknown
      ? IsFunction<LastParam<Map[K]>> extends true
        ? FirstNonErrorArg<LastParam<Map[K]>> extends void
          ? never
          : K
        : never
      : never;

/** Events without an acknowledgement: no parameters, or a last parameter that is not a
 *  function (all of them in an untyped map). */
export type EventNamesWithoutAck<Map extends EventsMap, K extends EventNames<Map> = EventNames<Map>> =
  IsAny<Map[K] | LastParam<Map[K]>> extends true
    ? K
    : K extends unknown
      ? Parameters<Map[K]> extends never[]
        ? K
        : IsFunction<LastParam<Map[K]>> extends true
          ? never
          : K
      : never;

/** Events with an acknowledgement whose first parameter is the timeout's `Error`. */
export type EventNamesWithError<Map extends EventsMap, K extends EventNamesWithAck<Map> = EventNamesWithAck<Map>> =
  IsAny<Map[K] | LastParam<Map[K]>> extends true
    ? K
    : K extends unknown
      ? LastParam<Map[K]> extends (first: infer E, ...rest: any[]) => any
        ? E extends Error
          ? K
          : never
        : never
      : never;

/** The map without the events that have an acknowledgement. */
export type RemoveAcknowledgements<E extends EventsMap> = { [K in EventNamesWithoutAck<E>]: E[K] };

/** Each function in a parameter list gets the timeout's `err: Error` first (unless it has it). */
type WithTimeoutError<P extends any[]> = {
  [I in keyof P]: P[I] extends (...args: infer A) => infer R ? (A[0] extends Error ? P[I] : (err: Error, ...args: A) => R) : P[I];
};

/** The first element of a parameter list as an array of them (one per client). */
type FirstAsResponses<A extends any[]> = A extends [infer F, ...any[]] ? [responses: F[]] : never;

/** Each function in a parameter list receives one response per client: `(err, responses)`. */
type WithMultipleResponses<P extends any[]> = {
  [I in keyof P]: P[I] extends (...args: infer A) => infer R
    ? A extends [Error]
      ? (err: Error) => R
      : A extends [Error, ...infer Rest]
        ? (err: Error, ...responses: FirstAsResponses<Rest>) => R
        : A extends []
          ? () => R
          : (...responses: FirstAsResponses<A>) => R
    : P[I];
};

/** After `timeout(ms)`: acknowledgements get an `Error` first. */
export type DecorateAcknowledgements<E> = {
  [K in keyof E]: E[K] extends (...args: infer P) => infer R ? (...args: WithTimeoutError<P>) => R : E[K];
};

/** A broadcast: acknowledgements get one response per client. */
export type DecorateAcknowledgementsWithMultipleResponses<E> = {
  [K in keyof E]: E[K] extends (...args: infer P) => infer R ? (...args: WithMultipleResponses<P>) => R : E[K];
};

/** `serverSideEmit`: an `Error` first, then one response per server. */
export type DecorateAcknowledgementsWithTimeoutAndMultipleResponses<E> = {
  [K in keyof E]: E[K] extends (...args: infer P) => infer R ? (...args: WithMultipleResponses<WithTimeoutError<P>>) => R : E[K];
};

/** @deprecated socket.io's old name; see {@link DecorateAcknowledgements}. */
export type DecorateAcknowledgementsWithTimeout<E> = DecorateAcknowledgements<E>;

type FallbackToUntypedListener<T> = [T] extends [never] ? (...args: any[]) => void | Promise<void> : T;

type ReservedOrUserEventNames<Reserved extends EventsMap, User extends EventsMap> =
  | EventNames<Reserved>
  | EventNames<User>;

type ReservedOrUserListener<Reserved extends EventsMap, User extends EventsMap, Ev extends string | symbol> =
  FallbackToUntypedListener<
    Ev extends EventNames<Reserved> ? Reserved[Ev] : Ev extends EventNames<User> ? User[Ev] : never
  >;

/** An Engine.IO packet, as `socket.conn`'s `packet` and `packetCreate` listeners get it. */
export interface EnginePacket {
  type: "open" | "close" | "ping" | "pong" | "message" | "upgrade" | "noop";
  data?: string | Buffer;
  /** On `packetCreate` only. */
  options?: { compress: boolean };
}

/** The connection under a socket: a subset of engine.io's socket. */
export interface Conn extends EventEmitter {
  readonly id: string;
  readonly transport: { name: string };
  readonly remoteAddress: string;
  readonly readyState: string;
  readonly protocol: number;
  /** The first HTTP request, described (headers, url, _query); a listener may delete it. */
  request?: EngineRequest;
  close(): this;
  on(event: "packet" | "packetCreate", listener: (packet: EnginePacket) => void): this;
  on(event: "drain", listener: () => void): this;
  on(event: "upgrading" | "upgrade", listener: (transport: { name: string }) => void): this;
  on(event: "close", listener: (reason: string) => void): this;
  on(event: string | symbol, listener: (...args: any[]) => void): this;
}

/** A request as `io.engine`'s listeners see it: a description, not a live IncomingMessage. */
export interface EngineRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  _query: Record<string, string>;
  socket: { remoteAddress: string };
  connection: { remoteAddress: string };
}

/** engine.io's `connection_error`: `code` 0 unknown transport, 1 unknown sid, 2 bad handshake
 *  method, 3 bad request, 4 forbidden, 5 unsupported protocol version (6: `maxSessions`). */
export interface EngineConnectionError {
  req: EngineRequest;
  code: number;
  message: string;
  context: Record<string, unknown>;
}

/** A subset of engine.io's server: `clientsCount`, `opts` and its connection events. */
export interface Engine extends EventEmitter {
  readonly clientsCount: number;
  readonly opts: ServerOptions;
  on(event: "connection", listener: (conn: Conn) => void): this;
  on(event: "connection_error", listener: (err: EngineConnectionError) => void): this;
  on(event: "initial_headers" | "headers", listener: (headers: Record<string, string | string[]>, req: EngineRequest) => void): this;
  on(event: string | symbol, listener: (...args: any[]) => void): this;
}

/** socket.io's disconnect reasons (those roomcast produces, plus socket.io's others). */
export type DisconnectReason =
  | "transport error"
  | "transport close"
  | "forced close"
  | "ping timeout"
  | "parse error"
  | "server shutting down"
  | "forced server close"
  | "client namespace disconnect"
  | "server namespace disconnect"
  | "slow consumer";

// ---------------------------------------------------------------------------------------------
// options

export interface CorsOptions {
  /** `"*"` (or `true`): any origin; a string or an array: those origins. Default `"*"`. */
  origin?: string | string[] | boolean;
  credentials?: boolean;
  /** A preflight's `Access-Control-Allow-Methods`. Default `"GET,HEAD,PUT,PATCH,POST,DELETE"`. */
  methods?: string | string[];
  /** A preflight's `Access-Control-Allow-Headers`. Default: the headers the preflight asks for. */
  allowedHeaders?: string | string[];
  [option: string]: unknown;
}

export interface ServerOptions {
  /** The path Socket.IO answers on. Default `"/socket.io"`. */
  path: string;
  /** Serve socket.io-client's files (`<path>socket.io.js`, `.min.js`, `.msgpack.min.js`, `.esm.min.js` and their maps) when socket.io-client is installed. Default true. */
  serveClient: boolean;
  /** Milliseconds between pings. Default 25000. */
  pingInterval: number;
  /** Milliseconds to wait for a pong. Default 20000. */
  pingTimeout: number;
  /** Milliseconds an upgrade from long-polling to WebSocket may take. Default 10000. */
  upgradeTimeout: number;
  /** Largest message or polling body in bytes. Default 1e6. */
  maxHttpBufferSize: number;
  /** Milliseconds a connection may stay without joining a namespace. Default 45000. */
  connectTimeout: number;
  /** Default `["polling", "websocket"]`. */
  transports: Array<"polling" | "websocket">;
  cors: CorsOptions;
  /** Compress long-polling responses of at least `threshold` bytes (gzip/deflate).
   *  Default true (threshold 1024). */
  httpCompression: boolean | { threshold?: number };
  /** permessage-deflate for WebSocket messages of at least `threshold` bytes (default 1024).
   *  Default false, as socket.io. Each message is compressed on its own, so a broadcast is
   *  compressed once for all recipients; zlib level 1 unless `zlibDeflateOptions.level`. */
  perMessageDeflate: boolean | { threshold?: number; zlibDeflateOptions?: { level?: number } };
  /** Also accept socket.io v2 clients (Engine.IO v3). Default false. */
  allowEIO3: boolean;
  /** socket.io-msgpack-parser (or `"msgpack"`) to speak its format; the default parser otherwise. */
  parser: any;
  /** Remove a dynamic child namespace when its last socket leaves. Default false. */
  cleanupEmptyChildNamespaces: boolean;
  /** Restore a client's rooms, data and missed packets when it reconnects within
   *  `maxDisconnectionDuration` ms (default 120000); `skipMiddlewares` (default true) admits a
   *  recovered client without running the middlewares again. Off unless given. */
  connectionStateRecovery: { maxDisconnectionDuration?: number; skipMiddlewares?: boolean };
  /** Decides whether a handshake or upgrade request may proceed: `callback(err, success)`.
   *  `req` describes the request (headers, url, address); it is not a live IncomingMessage. */
  allowRequest: (
    req: { method: string; url: string; headers: Record<string, string>; socket: { remoteAddress: string } },
    callback: (err: string | null | undefined, success: boolean) => void,
  ) => void;
  /** End upgrade requests outside the path that nobody answered. Default true. */
  destroyUpgrade: boolean;
  /** Milliseconds before such an upgrade request is ended. Default 1000. */
  destroyUpgradeTimeout: number;
  /** roomcast, attached to an `http.Server`: run each WebSocket natively from a duplicate of
   *  its socket's file descriptor (plain TCP or Unix sockets, not on Windows), so frames never
   *  pass through JavaScript. False pipes every byte through the Node socket. Default true. */
  takeOverWebSockets: boolean;
  /** roomcast, attached to a plain `http.Server`: take a connection over as Node accepts it
   *  when its first bytes are a whole Socket.IO WebSocket upgrade request (no `connection`
   *  or `upgrade` event for it; about 1.8x the connections per second). The listening socket
   *  then accepts a connection once its first bytes arrived. `"auto"` (the default) does so
   *  only while nobody but Node listens to the server's `connection` event; true always;
   *  false never (each WebSocket is still taken over after Node's `upgrade` event). */
  takeOverAtAccept: boolean | "auto";
  /** roomcast, attached to an `https.Server`: the core terminates TLS itself (with the
   *  server's PEM `key` and `cert`) on the connections it takes as Node accepts them, so
   *  `wss://` WebSockets run natively; every other request reaches Node's HTTP server as
   *  plaintext on a local socket that reports `encrypted`, the client's address, the TLS
   *  protocol and cipher. Servers with client certificates, `pfx`, a passphrase, custom
   *  ciphers or versions, SNI contexts or ALPN other than http/1.1 keep Node's TLS (with a
   *  warning). Default false: Node's TLS, and WebSocket bytes piped through Node. */
  terminateTls: boolean;
  /** roomcast, own listener (`io.listen(port)`): serve HTTPS and `wss://` with this PEM
   *  certificate chain and key. */
  tls?: { key: string | Buffer; cert: string | Buffer | Array<string | Buffer> };
  /** roomcast: frames queued for one connection before it is disconnected as a slow consumer
   *  (reason "slow consumer"). Default 65536. */
  maxQueuedFrames: number;
  /** roomcast: dynamic child namespaces that may exist at once; a CONNECT that would create one
   *  more evicts the oldest child nobody ever joined (one a middleware refused), or gets
   *  connect_error "Too many namespaces" when there is none. Default 10000. */
  maxChildNamespaces: number;
  /** roomcast: acknowledgements one socket may be awaited for at once; past it
   *  `socket.emit(..., ack)` throws and sends nothing. Default 10000. */
  maxPendingAcks: number;
  /** roomcast: bytes queued for one connection before it is disconnected as a slow consumer.
   *  Default 64 MiB (a single message always fits an empty queue). */
  maxQueuedBytes: number;
  /** roomcast: bytes of one socket's events waiting for JavaScript (a blocked event loop)
   *  before its connection is closed with the reason "host backlog full". Default 16 MiB. */
  maxHostBacklogPerSocket: number;
  /** roomcast: the same for all sockets of the server together. Default 256 MiB. */
  maxHostBacklog: number;
  /** roomcast, `listen(port)` only (under an http.Server its own `headersTimeout` applies):
   *  milliseconds for a request's headers, also the longest a keep-alive connection may sit
   *  idle. Default 10000; 0 turns it off. */
  httpHeaderTimeout: number;
  /** roomcast, `listen(port)` only: milliseconds for a polling body (408 past it). Default
   *  30000; 0 turns it off. */
  httpBodyTimeout: number;
  /** roomcast, `listen(port)` only: open TCP connections; past it new ones are closed at
   *  once. Default: nine tenths of the open-file limit. */
  maxConnections: number;
  /** roomcast, `listen(port)` only: open TCP connections per client address. Default: no cap. */
  maxConnectionsPerIp: number;
  /** roomcast: Engine.IO sessions; past it handshakes get 503. Default: no cap. */
  maxSessions: number;
  /** roomcast, `listen(port)` only: no sticky sessions in front of a cluster. Long-polling sessions are listed in Redis and a request for another node's session is handed to it. `address`: where the other nodes reach this one (default: the bound address, which must name one interface); `ttl` in milliseconds (default one hour, renewed while the session is served). */
  routeSessions: { url: string; address?: string; keyPrefix?: string; ttl?: number };
  /** roomcast: the address `listen(port)` binds (default: every interface). */
  host: string;
  /** roomcast: catches errors thrown (or rejected) by listeners and middlewares and hands them
   *  to this function, instead of letting them surface as uncaught exceptions (the default). */
  onHandlerError: (err: unknown, where: string) => void;
  /** roomcast: catch errors thrown (or rejected) by listeners and middlewares and print them
   *  on stderr (the socket stays connected); default false: they are uncaught exceptions, as
   *  with socket.io. */
  catchHandlerErrors: boolean;
  /** The adapter, from roomcast's `createAdapter()`, `createStreamsAdapter()` or `createShardedAdapter()` (a Redis cluster). Default: in-memory. */
  adapter: RedisAdapter | RedisStreamsAdapter | RedisShardedAdapter;
}

// ---------------------------------------------------------------------------------------------
// cluster (Redis)

export interface RedisAdapterOptions {
  /** `redis://[:password@]host[:port][/db]`, or `rediss://` for TLS. */
  url: string;
  /** The channel prefix. Default `"socket.io"`. */
  key?: string;
  /** Milliseconds cluster-wide requests (fetchSockets, serverSideEmit with an ack, allRooms) wait for every node. Default 5000. */
  requestsTimeout?: number;
}

/** The Redis adapter (wire-compatible with @socket.io/redis-adapter 8), as `createAdapter()` describes it. */
export class RedisAdapter {
  private constructor();
  readonly url: string;
  readonly key: string;
  readonly requestsTimeout: number;
}

/** The Redis adapter for `io.adapter(...)` or the `adapter` option. */
export function createAdapter(url: string, opts?: Omit<RedisAdapterOptions, "url">): RedisAdapter;
export function createAdapter(opts: RedisAdapterOptions): RedisAdapter;

export interface RedisStreamsAdapterOptions {
  /** `redis://[:password@]host[:port][/db]`, or `rediss://` for TLS. */
  url: string;
  /** The stream. Default `"socket.io"`. */
  streamName?: string;
  /** The prefix of the pub/sub channels. Default `"socket.io"`. */
  channelPrefix?: string;
  /** The stream is trimmed to about this many entries (`XADD MAXLEN ~`). Default 10000. */
  maxLen?: number;
  /** Milliseconds fetchSockets and serverSideEmit with an ack wait for every node. Default 5000. */
  requestsTimeout?: number;
  /** With `connectionStateRecovery`: the prefix of the keys that keep disconnected sessions, so a client recovers on any node. Default `"sio:session:"`. */
  sessionKeyPrefix?: string;
}

/** The Redis Streams adapter (wire-compatible with @socket.io/redis-streams-adapter 0.3), as `createStreamsAdapter()` describes it. */
export class RedisStreamsAdapter {
  private constructor();
  readonly url: string;
  readonly streamName: string;
  readonly channelPrefix: string;
  readonly maxLen: number;
  readonly requestsTimeout: number;
  readonly sessionKeyPrefix: string;
}

/** The Redis Streams adapter for `io.adapter(...)` or the `adapter` option: broadcasts sent while a server's connection to Redis is down reach it when it reconnects. */
export function createStreamsAdapter(url: string, opts?: Omit<RedisStreamsAdapterOptions, "url">): RedisStreamsAdapter;
export function createStreamsAdapter(opts: RedisStreamsAdapterOptions): RedisStreamsAdapter;

export interface RedisShardedAdapterOptions {
  /** The Redis Cluster's nodes, `redis://host:port` (or `rediss://`): one reachable node is enough. */
  nodes: string | string[];
  /** The prefix of the sharded channels. Default `"socket.io"`. */
  channelPrefix?: string;
  /**
   * `"static"`: two channels per namespace; `"dynamic"` (default): plus one per room that is not
   * a socket id, so a broadcast to one room reaches only the servers with sockets in it;
   * `"dynamic-private"`: socket ids' rooms too.
   */
  subscriptionMode?: "static" | "dynamic" | "dynamic-private";
  /** Milliseconds fetchSockets and serverSideEmit with an ack wait for every node. Default 5000. */
  requestsTimeout?: number;
}

/** The sharded pub/sub adapter for a Redis 7 Cluster (wire-compatible with createShardedAdapter of @socket.io/redis-adapter 8.3), as `createShardedAdapter()` describes it. */
export class RedisShardedAdapter {
  private constructor();
  readonly nodes: readonly string[];
  readonly channelPrefix: string;
  readonly subscriptionMode: "static" | "dynamic" | "dynamic-private";
  readonly requestsTimeout: number;
}

/** The sharded adapter for `io.adapter(...)` or the `adapter` option: SPUBLISH/SSUBSCRIBE on a Redis Cluster. */
export function createShardedAdapter(nodes: string | string[], opts?: Omit<RedisShardedAdapterOptions, "nodes">): RedisShardedAdapter;
export function createShardedAdapter(opts: RedisShardedAdapterOptions): RedisShardedAdapter;

/** The options of `instrument()`, as `@socket.io/admin-ui` takes them. */
export interface InstrumentOptions {
  /** `false` (no login: private networks only) or the UI's login, with a bcrypt hash as the password. Required. */
  auth: false | { type: "basic"; username: string; password: string };
  /** The admin namespace. Default "/admin". */
  namespaceName?: string;
  /** Refuse the UI's emit, join, leave and disconnect. Default false. */
  readonly?: boolean;
  /** This node's name in the UI. Default: the host name. */
  serverId?: string;
  /** Sessions of basic logins are kept in memory; only an InMemoryStore is accepted. */
  store?: InMemoryStore;
  /** "development" (every socket, room and event) or anything else: aggregated counts only. Default `process.env.NODE_ENV || "development"`. */
  mode?: "development" | "production" | string;
}

/** Accepted as `store` for code written for `@socket.io/admin-ui`; sessions live in the core. */
export class InMemoryStore {}

/** Serves the Socket.IO admin UI (https://admin.socket.io) for `io`: `io.instrument(options)`. */
export function instrument(io: Server<any, any, any, any>, options: InstrumentOptions): void;

export interface EmitterOptions {
  /** `redis://[:password@]host[:port][/db]`, or `rediss://` for TLS. */
  url: string;
  /** The channel prefix. Default `"socket.io"`. */
  key?: string;
}

/**
 * Sends to the clients of a cluster from a process that runs no server, like
 * @socket.io/redis-emitter. Every operation resolves once Redis has taken the message.
 */
export class Emitter<EmitEvents extends EventsMap = DefaultEventsMap, ServerSideEvents extends EventsMap = DefaultEventsMap> {
  constructor(url: string, opts?: Omit<EmitterOptions, "url">);
  constructor(opts: EmitterOptions);
  /** The same emitter for another namespace (recipients and flags reset). */
  of(nsp: string): Emitter<EmitEvents, ServerSideEvents>;
  to(room: Room | Room[]): Emitter<EmitEvents, ServerSideEvents>;
  in(room: Room | Room[]): Emitter<EmitEvents, ServerSideEvents>;
  except(room: Room | Room[]): Emitter<EmitEvents, ServerSideEvents>;
  get volatile(): Emitter<EmitEvents, ServerSideEvents>;
  compress(compress: boolean): Emitter<EmitEvents, ServerSideEvents>;
  emit<Ev extends EventNames<EmitEvents>>(ev: Ev, ...args: EventParams<EmitEvents, Ev>): Promise<void>;
  socketsJoin(room: Room | Room[]): Promise<void>;
  socketsLeave(room: Room | Room[]): Promise<void>;
  disconnectSockets(close?: boolean): Promise<void>;
  serverSideEmit<Ev extends EventNames<ServerSideEvents>>(ev: Ev, ...args: EventParams<ServerSideEvents, Ev>): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// reserved events

export interface NamespaceReservedEventsMap<
  ListenEvents extends EventsMap,
  EmitEvents extends EventsMap,
  ServerSideEvents extends EventsMap,
  SocketData,
> {
  connect: (socket: Socket<ListenEvents, EmitEvents, ServerSideEvents, SocketData>) => void;
  connection: (socket: Socket<ListenEvents, EmitEvents, ServerSideEvents, SocketData>) => void;
}

export interface ServerReservedEventsMap<
  ListenEvents extends EventsMap,
  EmitEvents extends EventsMap,
  ServerSideEvents extends EventsMap,
  SocketData,
> extends NamespaceReservedEventsMap<ListenEvents, EmitEvents, ServerSideEvents, SocketData> {
  new_namespace: (namespace: Namespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData>) => void;
}

export interface SocketReservedEventsMap {
  disconnect: (reason: DisconnectReason, description?: any) => void;
  disconnecting: (reason: DisconnectReason, description?: any) => void;
  error: (err: Error) => void;
}

// ---------------------------------------------------------------------------------------------
// classes

export interface Handshake {
  headers: Record<string, string>;
  /** `new Date().toString()` of the first request. */
  time: string;
  address: string;
  xdomain: boolean;
  secure: boolean;
  /** Milliseconds since the epoch. */
  issued: number;
  url: string;
  query: Record<string, string>;
  auth: { [key: string]: any };
}

/** A connection middleware's refusal: the client's `connect_error` gets `message` and `data`. */
export interface ExtendedError extends Error {
  data?: any;
}

export type Room = string;

export class BroadcastOperator<EmitEvents extends EventsMap, SocketData> {
  readonly rooms: Set<Room>;
  readonly exceptRooms: Set<Room>;
  to(room: Room | Room[]): BroadcastOperator<EmitEvents, SocketData>;
  in(room: Room | Room[]): BroadcastOperator<EmitEvents, SocketData>;
  except(room: Room | Room[]): BroadcastOperator<EmitEvents, SocketData>;
  compress(compress: boolean): BroadcastOperator<EmitEvents, SocketData>;
  get volatile(): BroadcastOperator<EmitEvents, SocketData>;
  get local(): BroadcastOperator<EmitEvents, SocketData>;
  /** Acknowledgements get an `Error` first (the timeout). */
  timeout(ms: number): BroadcastOperator<DecorateAcknowledgements<EmitEvents>, SocketData>;
  emit<Ev extends EventNames<EmitEvents>>(ev: Ev, ...args: EventParams<EmitEvents, Ev>): boolean;
  /** Only after `timeout(ms)` (the events whose acknowledgement takes the timeout's error). */
  emitWithAck<Ev extends EventNamesWithError<EmitEvents>>(
    ev: Ev,
    ...args: AllButLast<EventParams<EmitEvents, Ev>>
  ): Promise<FirstNonErrorArg<Last<EventParams<EmitEvents, Ev>>>>;
  /** This server's sockets are the Socket objects themselves, typed as socket.io types them. */
  fetchSockets(): Promise<RemoteSocket<EmitEvents, SocketData>[]>;
  socketsJoin(room: Room | Room[]): void;
  socketsLeave(room: Room | Room[]): void;
  disconnectSockets(close?: boolean): void;
  /** @deprecated use fetchSockets() */
  allSockets(): Promise<Set<string>>;
}

/** A socket found by fetchSockets() on another server of a cluster. */
export class RemoteSocket<EmitEvents extends EventsMap, SocketData> {
  readonly id: string;
  readonly handshake: Handshake;
  readonly rooms: Set<Room>;
  readonly data: SocketData;
  emit<Ev extends EventNames<EmitEvents>>(ev: Ev, ...args: EventParams<EmitEvents, Ev>): boolean;
  timeout(ms: number): BroadcastOperator<DecorateAcknowledgements<EmitEvents>, SocketData>;
  join(room: Room | Room[]): void;
  leave(room: Room): void;
  disconnect(close?: boolean): this;
}

export class Socket<
  ListenEvents extends EventsMap = DefaultEventsMap,
  EmitEvents extends EventsMap = ListenEvents,
  ServerSideEvents extends EventsMap = DefaultEventsMap,
  SocketData = any,
> extends EventEmitter {
  /** 20 characters; also the name of the room the socket is always in. */
  readonly id: string;
  readonly nsp: Namespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData>;
  readonly server: Server<ListenEvents, EmitEvents, ServerSideEvents, SocketData>;
  readonly handshake: Handshake;
  /** A snapshot of the socket's rooms (its own id included). */
  readonly rooms: Set<Room>;
  readonly connected: boolean;
  readonly disconnected: boolean;
  readonly recovered: boolean;
  /** Synced to the server as JSON after every change (fetchSockets() sees it). */
  data: SocketData;
  /** A subset of engine.io's socket. */
  readonly conn: Conn;
  /** A description of the first HTTP request (not a live IncomingMessage). */
  readonly request: { headers: Record<string, string>; url: string; method: string };

  on<Ev extends ReservedOrUserEventNames<SocketReservedEventsMap, ListenEvents>>(
    ev: Ev,
    listener: ReservedOrUserListener<SocketReservedEventsMap, ListenEvents, Ev>,
  ): this;
  once<Ev extends ReservedOrUserEventNames<SocketReservedEventsMap, ListenEvents>>(
    ev: Ev,
    listener: ReservedOrUserListener<SocketReservedEventsMap, ListenEvents, Ev>,
  ): this;

  /** Sends an event to the client; a callback as last argument receives its acknowledgement. */
  emit<Ev extends EventNames<EmitEvents>>(ev: Ev, ...args: EventParams<EmitEvents, Ev>): boolean;
  emitWithAck<Ev extends EventNamesWithAck<EmitEvents>>(
    ev: Ev,
    ...args: AllButLast<EventParams<EmitEvents, Ev>>
  ): Promise<FirstNonErrorArg<Last<EventParams<EmitEvents, Ev>>>>;
  /** Emits a "message" event. */
  send(...args: EventParams<EmitEvents, "message">): this;
  write(...args: EventParams<EmitEvents, "message">): this;
  /** Acknowledgements get an `Error` first (the timeout). */
  timeout(ms: number): Socket<ListenEvents, DecorateAcknowledgements<EmitEvents>, ServerSideEvents, SocketData>;
  get volatile(): this;
  compress(compress: boolean): this;

  join(rooms: Room | Room[]): Promise<void> | void;
  leave(room: Room): void;
  to(room: Room | Room[]): BroadcastOperator<DecorateAcknowledgementsWithMultipleResponses<EmitEvents>, SocketData>;
  in(room: Room | Room[]): BroadcastOperator<DecorateAcknowledgementsWithMultipleResponses<EmitEvents>, SocketData>;
  except(room: Room | Room[]): BroadcastOperator<DecorateAcknowledgementsWithMultipleResponses<EmitEvents>, SocketData>;
  get broadcast(): BroadcastOperator<DecorateAcknowledgementsWithMultipleResponses<EmitEvents>, SocketData>;
  get local(): BroadcastOperator<DecorateAcknowledgementsWithMultipleResponses<EmitEvents>, SocketData>;

  disconnect(close?: boolean): this;

  use(fn: (packet: [string, ...any[]], next: (err?: Error) => void) => void): this;
  onAny(listener: (event: string, ...args: any[]) => void): this;
  prependAny(listener: (event: string, ...args: any[]) => void): this;
  offAny(listener?: (event: string, ...args: any[]) => void): this;
  listenersAny(): Array<(event: string, ...args: any[]) => void>;
  /** Called for every event sent to this socket (broadcasts included), before its next incoming event. */
  onAnyOutgoing(listener: (event: string, ...args: any[]) => void): this;
  prependAnyOutgoing(listener: (event: string, ...args: any[]) => void): this;
  offAnyOutgoing(listener?: (event: string, ...args: any[]) => void): this;
  listenersAnyOutgoing(): Array<(event: string, ...args: any[]) => void>;
}

export class Namespace<
  ListenEvents extends EventsMap = DefaultEventsMap,
  EmitEvents extends EventsMap = ListenEvents,
  ServerSideEvents extends EventsMap = DefaultEventsMap,
  SocketData = any,
> extends EventEmitter {
  readonly name: string;
  readonly server: Server<ListenEvents, EmitEvents, ServerSideEvents, SocketData>;
  /** Connected sockets by id. */
  readonly sockets: Map<string, Socket<ListenEvents, EmitEvents, ServerSideEvents, SocketData>>;
  /** Read-only snapshots of this server's rooms; `allRooms()`: the rooms of every node of the cluster. */
  readonly adapter: {
    readonly rooms: Map<Room, Set<string>>;
    readonly sids: Map<string, Set<Room>>;
    allRooms(): Promise<Set<Room>>;
  };

  on<Ev extends ReservedOrUserEventNames<NamespaceReservedEventsMap<ListenEvents, EmitEvents, ServerSideEvents, SocketData>, ServerSideEvents>>(
    ev: Ev,
    listener: ReservedOrUserListener<NamespaceReservedEventsMap<ListenEvents, EmitEvents, ServerSideEvents, SocketData>, ServerSideEvents, Ev>,
  ): this;
  once<Ev extends ReservedOrUserEventNames<NamespaceReservedEventsMap<ListenEvents, EmitEvents, ServerSideEvents, SocketData>, ServerSideEvents>>(
    ev: Ev,
    listener: ReservedOrUserListener<NamespaceReservedEventsMap<ListenEvents, EmitEvents, ServerSideEvents, SocketData>, ServerSideEvents, Ev>,
  ): this;

  use(
    fn: (socket: Socket<ListenEvents, EmitEvents, ServerSideEvents, SocketData>, next: (err?: ExtendedError) => void) => void,
  ): this;
  to(room: Room | Room[]): BroadcastOperator<DecorateAcknowledgementsWithMultipleResponses<EmitEvents>, SocketData>;
  in(room: Room | Room[]): BroadcastOperator<DecorateAcknowledgementsWithMultipleResponses<EmitEvents>, SocketData>;
  except(room: Room | Room[]): BroadcastOperator<DecorateAcknowledgementsWithMultipleResponses<EmitEvents>, SocketData>;
  /** Broadcasts; an event with an acknowledgement needs `timeout(ms)` first. */
  emit<Ev extends EventNamesWithoutAck<EmitEvents>>(ev: Ev, ...args: EventParams<EmitEvents, Ev>): boolean;
  /** Broadcasts a "message" event. */
  send(...args: EventParams<EmitEvents, "message">): this;
  write(...args: EventParams<EmitEvents, "message">): this;
  compress(compress: boolean): BroadcastOperator<DecorateAcknowledgementsWithMultipleResponses<EmitEvents>, SocketData>;
  get volatile(): BroadcastOperator<DecorateAcknowledgementsWithMultipleResponses<EmitEvents>, SocketData>;
  get local(): BroadcastOperator<DecorateAcknowledgementsWithMultipleResponses<EmitEvents>, SocketData>;
  /** Acknowledgements get `(err, responses)`: the timeout's error, one response per client. */
  timeout(
    ms: number,
  ): BroadcastOperator<DecorateAcknowledgements<DecorateAcknowledgementsWithMultipleResponses<EmitEvents>>, SocketData>;
  fetchSockets(): Promise<RemoteSocket<EmitEvents, SocketData>[]>;
  socketsJoin(room: Room | Room[]): void;
  socketsLeave(room: Room | Room[]): void;
  disconnectSockets(close?: boolean): void;
  /** @deprecated use fetchSockets() */
  allSockets(): Promise<Set<string>>;
  /** A function as last argument gets `(err, responses)`, one response per other server. */
  serverSideEmit<Ev extends EventNames<ServerSideEvents>>(
    ev: Ev,
    ...args: EventParams<DecorateAcknowledgementsWithTimeoutAndMultipleResponses<ServerSideEvents>, Ev>
  ): boolean;
  serverSideEmitWithAck<Ev extends EventNamesWithAck<ServerSideEvents>>(
    ev: Ev,
    ...args: AllButLast<EventParams<ServerSideEvents, Ev>>
  ): Promise<FirstNonErrorArg<Last<EventParams<ServerSideEvents, Ev>>>[]>;
}

/** A dynamic namespace; its children are the namespaces it accepted. */
export class ParentNamespace<
  ListenEvents extends EventsMap = DefaultEventsMap,
  EmitEvents extends EventsMap = ListenEvents,
  ServerSideEvents extends EventsMap = DefaultEventsMap,
  SocketData = any,
> extends Namespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData> {
  readonly children: Set<Namespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData>>;
  emit<Ev extends EventNamesWithoutAck<EmitEvents>>(ev: Ev, ...args: EventParams<EmitEvents, Ev>): boolean;
}

export type ParentNspNameMatchFn = (
  name: string,
  auth: { [key: string]: any },
  next: (err: Error | null, success: boolean) => void,
) => void;

export class Server<
  ListenEvents extends EventsMap = DefaultEventsMap,
  EmitEvents extends EventsMap = ListenEvents,
  ServerSideEvents extends EventsMap = DefaultEventsMap,
  SocketData = any,
> {
  constructor(opts?: Partial<ServerOptions>);
  constructor(srv?: HttpServer | HttpsServer | number | string, opts?: Partial<ServerOptions>);

  /** The default namespace `/`. */
  readonly sockets: Namespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData>;
  /** The attached http.Server; on roomcast's own listener, an object answering address(), listening, "listening"/"close" and close(). */
  readonly httpServer: HttpServer | HttpsServer | undefined;
  /** A subset of engine.io's server. */
  readonly engine: Engine;
  readonly opts: ServerOptions;

  on<Ev extends ReservedOrUserEventNames<ServerReservedEventsMap<ListenEvents, EmitEvents, ServerSideEvents, SocketData>, ServerSideEvents>>(
    ev: Ev,
    listener: ReservedOrUserListener<ServerReservedEventsMap<ListenEvents, EmitEvents, ServerSideEvents, SocketData>, ServerSideEvents, Ev>,
  ): this;
  once<Ev extends ReservedOrUserEventNames<ServerReservedEventsMap<ListenEvents, EmitEvents, ServerSideEvents, SocketData>, ServerSideEvents>>(
    ev: Ev,
    listener: ReservedOrUserListener<ServerReservedEventsMap<ListenEvents, EmitEvents, ServerSideEvents, SocketData>, ServerSideEvents, Ev>,
  ): this;
  off(ev?: string, listener?: (...args: any[]) => void): this;
  removeAllListeners(ev?: string): this;
  listeners(ev: string): Function[];
  listenerCount(ev: string): number;

  /** A port: roomcast's own listener; an http.Server: requests under the path go to roomcast. */
  attach(srv: HttpServer | HttpsServer | number | string): this;
  listen(srv: HttpServer | HttpsServer | number | string): this;
  /** Where `listen(port)` bound, like net.Server#address(). */
  address(): { address: string; family: string; port: number } | null;
  /** The current adapter (undefined: in-memory). */
  adapter(): RedisAdapter | RedisStreamsAdapter | RedisShardedAdapter | undefined;
  /** Sets the adapter; before the server listens or serves its first client. */
  adapter(adapter: RedisAdapter | RedisStreamsAdapter | RedisShardedAdapter): this;
  /** Disconnects everyone ("server shutting down") and releases every resource. */
  close(fn?: (err?: Error) => void): Promise<void>;
  /** Serves the Socket.IO admin UI and reports this server to it; once per server. */
  instrument(options: InstrumentOptions): void;

  path(): string;
  serveClient(): boolean;
  connectTimeout(): number;

  of(
    nsp: string | RegExp | ParentNspNameMatchFn,
    fn?: (socket: Socket<ListenEvents, EmitEvents, ServerSideEvents, SocketData>) => void,
  ): Namespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData>;
  use(
    fn: (socket: Socket<ListenEvents, EmitEvents, ServerSideEvents, SocketData>, next: (err?: ExtendedError) => void) => void,
  ): this;

  to(room: Room | Room[]): BroadcastOperator<DecorateAcknowledgementsWithMultipleResponses<EmitEvents>, SocketData>;
  in(room: Room | Room[]): BroadcastOperator<DecorateAcknowledgementsWithMultipleResponses<EmitEvents>, SocketData>;
  except(room: Room | Room[]): BroadcastOperator<DecorateAcknowledgementsWithMultipleResponses<EmitEvents>, SocketData>;
  /** Broadcasts; an event with an acknowledgement needs `timeout(ms)` first. */
  emit<Ev extends EventNamesWithoutAck<EmitEvents>>(ev: Ev, ...args: EventParams<EmitEvents, Ev>): boolean;
  /** Broadcasts a "message" event. */
  send(...args: EventParams<EmitEvents, "message">): this;
  write(...args: EventParams<EmitEvents, "message">): this;
  compress(compress: boolean): BroadcastOperator<DecorateAcknowledgementsWithMultipleResponses<EmitEvents>, SocketData>;
  get volatile(): BroadcastOperator<DecorateAcknowledgementsWithMultipleResponses<EmitEvents>, SocketData>;
  get local(): BroadcastOperator<DecorateAcknowledgementsWithMultipleResponses<EmitEvents>, SocketData>;
  /** Acknowledgements get `(err, responses)`: the timeout's error, one response per client. */
  timeout(
    ms: number,
  ): BroadcastOperator<DecorateAcknowledgements<DecorateAcknowledgementsWithMultipleResponses<EmitEvents>>, SocketData>;
  fetchSockets(): Promise<RemoteSocket<EmitEvents, SocketData>[]>;
  socketsJoin(room: Room | Room[]): void;
  socketsLeave(room: Room | Room[]): void;
  disconnectSockets(close?: boolean): void;
  /** A function as last argument gets `(err, responses)`, one response per other server. */
  serverSideEmit<Ev extends EventNames<ServerSideEvents>>(
    ev: Ev,
    ...args: EventParams<DecorateAcknowledgementsWithTimeoutAndMultipleResponses<ServerSideEvents>, Ev>
  ): boolean;
  serverSideEmitWithAck<Ev extends EventNamesWithAck<ServerSideEvents>>(
    ev: Ev,
    ...args: AllButLast<EventParams<ServerSideEvents, Ev>>
  ): Promise<FirstNonErrorArg<Last<EventParams<ServerSideEvents, Ev>>>[]>;
  /** @deprecated use fetchSockets() */
  allSockets(): Promise<Set<string>>;
}
