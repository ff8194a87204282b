// The ceiling of Node's own upgrade path for connect-10k: a bare http.createServer() whose
// `upgrade` handler does the least a Socket.IO server must do in JavaScript for a
// WebSocket-only connection — compute Sec-WebSocket-Accept, write the 101 and the Engine.IO
// open packet, read the client's Socket.IO CONNECT frame and answer it — then holds the socket.
// No roomcast, no validation, no session state: a server attached to an http.Server (where
// Node accepts the connection, parses the request with llhttp, builds the IncomingMessage
// and net.Socket and emits `upgrade`) cannot set connections up faster than this.
// Not a Socket.IO server: it answers nothing else (join, echo, fanout, chat are not served),
// so only the connect scenarios apply.
// Usage: PORT=3000 node bench/servers/node_upgrade_ceiling.js
"use strict";

const crypto = require("node:crypto");
const http = require("node:http");

const port = Number(process.env.PORT || 3000);
const host = process.env.HOST || "127.0.0.1";
const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

let nextSid = 0;

/** An unmasked server text frame (payloads here are < 126 bytes). */
function textFrame(text) {
  const payload = Buffer.from(text);
  return Buffer.concat([Buffer.from([0x81, payload.length]), payload]);
}

/** The payload of the first complete masked client text frame in `buf`, or null. */
function clientText(buf) {
  if (buf.length < 2) return null;
  const len = buf[1] & 0x7f;
  // The CONNECT packet ("40") is short; anything longer is not what the loadgen sends.
  if (len >= 126 || buf.length < 6 + len) return null;
  const mask = buf.subarray(2, 6);
  const out = Buffer.allocUnsafe(len);
  for (let i = 0; i < len; i++) out[i] = buf[6 + i] ^ mask[i & 3];
  return out.toString();
}

const server = http.createServer((req, res) => {
  res.writeHead(404);
  res.end();
});

server.on("upgrade", (req, socket, head) => {
  const key = req.headers["sec-websocket-key"];
  if (!key) {
    socket.destroy();
    return;
  }
  const accept = crypto.createHash("sha1").update(key + GUID).digest("base64");
  const sid = `s${(nextSid++).toString(36)}`;
  socket.setNoDelay(true);
  socket.write(
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
      `Sec-WebSocket-Accept: ${accept}\r\n\r\n`,
  );
  socket.write(
    textFrame(`0{"sid":"${sid}","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`),
  );
  let pending = head && head.length ? head : Buffer.alloc(0);
  let connected = false;
  const onData = (chunk) => {
    if (connected) return;
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    const text = clientText(pending);
    if (text === null) return;
    connected = true;
    pending = null;
    if (text.startsWith("40")) socket.write(textFrame(`40{"sid":"${sid}"}`));
  };
  socket.on("data", onData);
  socket.on("error", () => {});
  // http.Server sockets allow half-open connections: the client's FIN ends the hold.
  socket.on("end", () => socket.end());
  if (pending.length) onData(Buffer.alloc(0));
});

server.listen(port, host, () => console.log(`listening on ${server.address().port}`));

for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, () => process.exit(0));
}
