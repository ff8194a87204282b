"use strict";

// Packet encoding over WebSocket ("Packet encoding / WebSocket"): one packet per frame, text
// packets in text frames, binary payloads as is in binary frames (no `4`, no `b`, no base64);
// and the frame size limit (maxHttpBufferSize is also the websocket maxPayload).

const assert = require("node:assert/strict");
const { test, describe, before, after, startServer, cleanup, WsClient } = require("./lib");

const MAX = 1000;

async function connected(server) {
  const ws = await WsClient.session(server);
  assert.match(await ws.connect("/"), /^40\{"sid":/);
  return ws;
}

describe("websocket frames", () => {
  let server;
  before(async () => {
    server = await startServer({ MAX_HTTP_BUFFER_SIZE: String(MAX) });
  });
  after(() => cleanup(server));

  test("each packet is its own text frame", async () => {
    const ws = await connected(server);
    ws.send('42["echo",1]');
    ws.send('42["echo",2]');
    const a = await ws.next();
    const b = await ws.next();
    assert.equal(a.text, '42["echo",1]');
    assert.equal(b.text, '42["echo",2]');
    ws.terminate();
  });

  test("attachments are raw binary frames, in both directions", async () => {
    const ws = await connected(server);
    const bytes = Buffer.from([0x00, 0xff, 0x1e, 0x34, 0x62]);
    ws.send('451-["binary",{"_placeholder":true,"num":0}]');
    ws.send(bytes);
    const header = await ws.next();
    assert.equal(header.text, '451-["binary-back",{"_placeholder":true,"num":0}]');
    const attachment = await ws.next();
    assert.ok(Buffer.isBuffer(attachment.binary), "the attachment must be a binary frame");
    assert.deepEqual(attachment.binary, bytes);
    ws.terminate();
  });

  test("UTF-8 text round-trips unchanged", async () => {
    const ws = await connected(server);
    const text = "é€😀 \u0000 \u2028";
    ws.send(`42${JSON.stringify(["echo", text])}`);
    assert.deepEqual(JSON.parse((await ws.nextText()).slice(2)), ["echo", text]);
    ws.terminate();
  });

  test("a text frame of exactly maxHttpBufferSize bytes is accepted", async () => {
    const ws = await connected(server);
    const payload = `42["echo","${"x".repeat(MAX - 13)}"]`;
    assert.equal(Buffer.byteLength(payload), MAX);
    ws.send(payload);
    assert.equal(await ws.nextText(), payload);
    ws.terminate();
  });

  test("a text frame over maxHttpBufferSize closes the websocket with 1009", async () => {
    const ws = await connected(server);
    ws.send(`42["echo","${"x".repeat(MAX)}"]`);
    const { code } = await ws.waitClosed();
    assert.equal(code, 1009);
    assert.equal(ws.queue.length, 0);
  });

  test("a binary frame over maxHttpBufferSize closes the websocket with 1009", async () => {
    const ws = await connected(server);
    ws.send('451-["binary",{"_placeholder":true,"num":0}]');
    ws.send(Buffer.alloc(MAX + 1));
    const { code } = await ws.waitClosed();
    assert.equal(code, 1009);
  });

  test("the limit applies before CONNECT too", async () => {
    const ws = await WsClient.session(server);
    ws.send(`4${"x".repeat(MAX)}`);
    const { code } = await ws.waitClosed();
    assert.equal(code, 1009);
  });
});
