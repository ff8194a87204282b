"use strict";

// What went over a TCP connection, for tests that check the wire itself: a recording proxy and
// a parser of the HTTP head and WebSocket frame headers it saw. Only node's own modules, so the
// bindings' suites can use it too.

const net = require("node:net");

/** A TCP proxy to port `target` keeping every byte each side sent, per connection. */
async function recordingProxy(target) {
  const connections = [];
  const proxy = net.createServer((client) => {
    const record = { fromServer: [], fromClient: [] };
    connections.push(record);
    const upstream = net.connect(target, "127.0.0.1");
    client.on("data", (d) => {
      record.fromClient.push(d);
      upstream.write(d);
    });
    upstream.on("data", (d) => {
      record.fromServer.push(d);
      client.write(d);
    });
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
  });
  await new Promise((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  const port = proxy.address().port;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    connections,
    close: () => new Promise((resolve) => proxy.close(resolve)),
  };
}

/** The HTTP head and the WebSocket frames (header bits and lengths) of one direction. */
function parseStream(chunks) {
  const bytes = Buffer.concat(chunks);
  const end = bytes.indexOf("\r\n\r\n");
  if (end < 0) throw new Error("no HTTP head recorded");
  const head = bytes.subarray(0, end).toString("latin1");
  const frames = [];
  let i = end + 4;
  while (i + 2 <= bytes.length) {
    const fin = (bytes[i] & 0x80) !== 0;
    const rsv1 = (bytes[i] & 0x40) !== 0;
    const opcode = bytes[i] & 0x0f;
    const masked = (bytes[i + 1] & 0x80) !== 0;
    let len = bytes[i + 1] & 0x7f;
    let at = i + 2;
    if (len === 126) {
      len = bytes.readUInt16BE(at);
      at += 2;
    } else if (len === 127) {
      len = Number(bytes.readBigUInt64BE(at));
      at += 8;
    }
    if (masked) at += 4;
    if (at + len > bytes.length) break;
    frames.push({ fin, rsv1, opcode, length: len });
    i = at + len;
  }
  return { head, frames };
}

function extensionsOf(head) {
  const line = head.split("\r\n").find((l) => l.toLowerCase().startsWith("sec-websocket-extensions:"));
  return line ? line.slice(line.indexOf(":") + 1).trim() : undefined;
}

module.exports = { recordingProxy, parseStream, extensionsOf };
