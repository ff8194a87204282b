// ES module entry: the same classes as the CommonJS entry (one copy of the module state).
import roomcast from "./index.js";

export const { Server, Namespace, ParentNamespace, Socket, BroadcastOperator, RemoteSocket, createAdapter, RedisAdapter, Emitter, instrument, InMemoryStore } =
  roomcast;
export default roomcast;
