"use strict";

// Socket.IO v5 over raw engine.io: "Connection to a namespace", "Sending and receiving data",
// "Acknowledgement", "Disconnection from a namespace" and "Packet encoding" of the socket.io
// protocol. Each socket.io packet travels as an engine.io message, hence the leading `4`.

const assert = require("node:assert/strict");
const {
  test,
  describe,
  before,
  after,
  startServer,
  cleanup,
  jsonOf,
  PollingSession,
  WsClient,
  expectWsClosedByServer,
} = require("./lib");

const SIO_SID = /^[A-Za-z0-9_-]{20}$/;
const CONNECT_TIMEOUT = 500;

/** A websocket session; CONNECTed to `/` unless `connect` is false. */
async function session(server, { connect = true } = {}) {
  const ws = await WsClient.session(server);
  if (connect) assert.match(await ws.connect("/"), /^40\{"sid":"[A-Za-z0-9_-]{20}"\}$/);
  return ws;
}

/**
 * The server closes the connection after a protocol violation. Frames before the close may only
 * be the scenario server's `use-error` report (socket.io hands parser errors to the socket's
 * `error` listeners; see README); the close frame has no status code (1005) in the reference.
 */
async function expectViolationClose(ws) {
  const { code, frames } = await expectWsClosedByServer(ws);
  for (const f of frames) {
    assert.ok(f.text !== undefined && /^42\["use-error",/.test(f.text), `unexpected frame ${JSON.stringify(f)}`);
  }
  assert.equal(code, 1005);
}

describe("socket.io over raw engine.io", () => {
  let server;
  before(async () => {
    server = await startServer({ CONNECT_TIMEOUT: String(CONNECT_TIMEOUT) });
  });
  after(() => cleanup(server));

  test("CONNECT `40` -> `40{\"sid\":...}`; the socket id differs from the engine.io sid", async () => {
    const ws = await session(server, { connect: false });
    ws.send("40");
    const answer = await ws.nextText();
    assert.match(answer, /^40\{"sid":"[A-Za-z0-9_-]{20}"\}$/);
    const { sid } = jsonOf(answer);
    assert.match(sid, SIO_SID);
    assert.notEqual(sid, ws.open.sid);
    ws.terminate();
  });

  test("CONNECT with an empty object payload `40{}` is a plain CONNECT", async () => {
    const ws = await session(server, { connect: false });
    ws.send("40{}");
    assert.match(await ws.nextText(), /^40\{"sid":"[A-Za-z0-9_-]{20}"\}$/);
    ws.terminate();
  });

  test("CONNECT to a namespace: `40/my-namespace,` -> `40/my-namespace,{\"sid\":...}`", async () => {
    const ws = await session(server, { connect: false });
    ws.send("40/my-namespace,");
    assert.match(await ws.nextText(), /^40\/my-namespace,\{"sid":"[A-Za-z0-9_-]{20}"\}$/);
    assert.equal(await ws.nextText(), '42/my-namespace,["hi","Hello everyone!"]');
    ws.terminate();
  });

  test("CONNECT with an auth payload: the server sees it as handshake.auth", async () => {
    const ws = await session(server, { connect: false });
    ws.send('40{"token":"abc","n":1}');
    assert.match(await ws.nextText(), /^40\{"sid":/);
    ws.send('421["handshake"]');
    const ack = await ws.nextText();
    assert.ok(ack.startsWith("431["), ack);
    assert.deepEqual(jsonOf(ack.slice(3))[0].auth, { token: "abc", n: 1 });
    ws.terminate();
  });

  test("CONNECT to a namespace with auth accepted by its middleware", async () => {
    const ws = await session(server, { connect: false });
    ws.send('40/auth,{"token":"secret"}');
    assert.match(await ws.nextText(), /^40\/auth,\{"sid":"[A-Za-z0-9_-]{20}"\}$/);
    assert.equal(await ws.nextText(), '42/auth,["welcome",{"token":"secret"}]');
    ws.terminate();
  });

  test("CONNECT refused by middleware -> CONNECT_ERROR with message and data", async () => {
    const ws = await session(server, { connect: false });
    ws.send('40/auth,{"token":"wrong"}');
    assert.equal(await ws.nextText(), '44/auth,{"message":"unauthorized","data":{"reason":"bad token"}}');
    // the connection stays usable
    assert.match(await ws.connect("/"), /^40\{"sid":/);
    ws.terminate();
  });

  test("unknown namespace -> `44/nope,{\"message\":\"Invalid namespace\"}`, connection stays", async () => {
    const ws = await session(server, { connect: false });
    ws.send("40/nope,");
    assert.equal(await ws.nextText(), '44/nope,{"message":"Invalid namespace"}');
    assert.match(await ws.connect("/"), /^40\{"sid":/);
    ws.terminate();
  });

  test("dynamic namespaces (regex and predicate) accept CONNECT", async () => {
    const ws = await session(server, { connect: false });
    ws.send("40/dyn-12,");
    assert.match(await ws.nextText(), /^40\/dyn-12,\{"sid":"[A-Za-z0-9_-]{20}"\}$/);
    assert.equal(await ws.nextText(), '42/dyn-12,["dyn","/dyn-12"]');
    ws.send("40/pred-x,");
    assert.match(await ws.nextText(), /^40\/pred-x,\{"sid":"[A-Za-z0-9_-]{20}"\}$/);
    assert.equal(await ws.nextText(), '42/pred-x,["pred","/pred-x"]');
    ws.terminate();
  });

  test("EVENT `42[\"echo\",1]` -> `42[\"echo\",1]`; ACK `421[\"echo\",1]` -> `431[1]`", async () => {
    const ws = await session(server);
    ws.send('42["echo",1]');
    assert.equal(await ws.nextText(), '42["echo",1]');
    ws.send('421["echo",1]');
    assert.equal(await ws.nextText(), "431[1]");
    ws.send('42123456789["echo","a",{"b":[null,true,2.5]}]');
    assert.equal(await ws.nextText(), '43123456789["a",{"b":[null,true,2.5]}]');
    ws.send('420["echo"]');
    assert.equal(await ws.nextText(), "430[]");
    ws.terminate();
  });

  test("EVENT and ACK in a namespace carry the `/nsp,` prefix", async () => {
    const ws = await session(server, { connect: false });
    ws.send("40/dyn-3,");
    assert.match(await ws.nextText(), /^40\/dyn-3,/);
    assert.equal(await ws.nextText(), '42/dyn-3,["dyn","/dyn-3"]');
    ws.send('42/dyn-3,7["echo","x"]');
    assert.equal(await ws.nextText(), '43/dyn-3,7["x"]');
    ws.send('42/dyn-3,["echo","y"]');
    assert.equal(await ws.nextText(), '42/dyn-3,["echo","y"]');
    ws.terminate();
  });

  test("an ACK for an unknown id is ignored", async () => {
    const ws = await session(server);
    ws.send("4399[1]");
    ws.send('42["echo","after"]');
    assert.equal(await ws.nextText(), '42["echo","after"]');
    ws.terminate();
  });

  test("BINARY_EVENT + attachment frame -> BINARY_ACK + attachment frame", async () => {
    const ws = await session(server);
    ws.send('451-1["binary",{"_placeholder":true,"num":0}]');
    ws.send(Buffer.from([1, 2, 3]));
    assert.equal(await ws.nextText(), '461-1[{"_placeholder":true,"num":0}]');
    assert.deepEqual(await ws.nextBinary(), Buffer.from([1, 2, 3]));
    assert.equal(await ws.nextText(), '451-["binary-back",{"_placeholder":true,"num":0}]');
    assert.deepEqual(await ws.nextBinary(), Buffer.from([1, 2, 3]));
    ws.terminate();
  });

  test("two attachments keep their order and nesting", async () => {
    const ws = await session(server);
    ws.send('452-9["binary",{"_placeholder":true,"num":0},{"x":{"_placeholder":true,"num":1}}]');
    ws.send(Buffer.from([1]));
    ws.send(Buffer.from([2, 3]));
    assert.equal(await ws.nextText(), '462-9[{"_placeholder":true,"num":0},{"x":{"_placeholder":true,"num":1}}]');
    assert.deepEqual(await ws.nextBinary(), Buffer.from([1]));
    assert.deepEqual(await ws.nextBinary(), Buffer.from([2, 3]));
    ws.terminate();
  });

  test("client DISCONNECT `41` leaves `/` but keeps the connection", async () => {
    const ws = await session(server);
    ws.send("40/dyn-1,");
    assert.match(await ws.nextText(), /^40\/dyn-1,/);
    assert.equal(await ws.nextText(), '42/dyn-1,["dyn","/dyn-1"]');
    ws.send("41");
    // no answer to a DISCONNECT; the other namespace still works
    ws.send('42/dyn-1,["echo",1]');
    assert.equal(await ws.nextText(), '42/dyn-1,["echo",1]');
    // `/` is no longer joined: an EVENT for it is now a violation
    ws.send('42["echo",1]');
    await expectViolationClose(ws);
  });

  test("client DISCONNECT of the only namespace keeps the engine.io connection", async () => {
    const ws = await session(server);
    ws.send("41");
    await ws.expectNothingWithin(200);
    assert.match(await ws.connect("/"), /^40\{"sid":/);
    ws.terminate();
  });

  test("server-side disconnect sends `41`; with close=true every namespace then the transport", async () => {
    const ws = await session(server);
    ws.send("40/dyn-2,");
    assert.match(await ws.nextText(), /^40\/dyn-2,/);
    assert.equal(await ws.nextText(), '42/dyn-2,["dyn","/dyn-2"]');
    ws.send('42["disconnect-me",true]');
    assert.equal(await ws.nextText(), "41");
    assert.equal(await ws.nextText(), "41/dyn-2,");
    const { code } = await ws.waitClosed();
    assert.equal(code, 1005);
  });

  test("server-side disconnect with close=false sends `41` only", async () => {
    const ws = await session(server);
    ws.send('42["disconnect-me",false]');
    assert.equal(await ws.nextText(), "41");
    await ws.expectNothingWithin(200);
    assert.match(await ws.connect("/"), /^40\{"sid":/);
    ws.terminate();
  });

  test("no CONNECT within connectTimeout closes the connection", async () => {
    const ws = await session(server, { connect: false });
    const { at, code } = await ws.waitClosed(CONNECT_TIMEOUT + 2000);
    const after = at - ws.openedAt;
    assert.ok(after >= CONNECT_TIMEOUT - 100, `closed after ${after} ms`);
    assert.equal(code, 1005);
    assert.equal(ws.queue.length, 0);
  });
});

describe("socket.io protocol violations close the connection", () => {
  let server;
  before(async () => {
    server = await startServer({});
  });
  after(() => cleanup(server));

  const violations = [
    // [title, connect first?, frames]
    ["a first packet that is not CONNECT", false, ['42["echo",1]']],
    ["an EVENT for a namespace that was not joined", true, ['42/my-namespace,["echo",1]']],
    ["a second CONNECT to the same namespace", true, ["40"]],
    ["a CONNECT_ERROR from the client", true, ['44{"message":"x"}']],
    ["unparsable JSON `42[`", true, ["42["]],
    ["an unknown socket.io packet type `4x`", true, ["4x"]],
    ["an unknown socket.io packet type `47[]`", true, ["47[]"]],
    ["an unknown engine.io packet type `99`", true, ["99"]],
    ["an EVENT whose payload is an object", true, ['42{"a":1}']],
    ["an EVENT with an empty array", true, ["42[]"]],
    ["a CONNECT whose payload is an array", true, ["40/dyn-1,[1]"]],
    ["a DISCONNECT with a payload", true, ["41{}"]],
    ["an ACK whose payload is not an array", true, ["4399{}"]],
    ["a BINARY_EVENT without attachment count", true, ['45["binary"]']],
    ["a BINARY_EVENT announcing 0 attachments", true, ['450-["binary"]']],
    ["a binary frame with no BINARY_EVENT pending", true, [Buffer.from([1])]],
    ["a text packet while attachments are pending", true, ['451-["binary",{"_placeholder":true,"num":0}]', '42["echo",1]']],
    ["a namespace without a trailing comma before the payload", true, ['42/my-namespace["echo"]']],
  ];
  for (const [title, connectFirst, frames] of violations) {
    test(`${title}: ${frames.map((f) => (typeof f === "string" ? f : "<binary>")).join(" + ")}`, async () => {
      const ws = await session(server, { connect: connectFirst });
      for (const f of frames) ws.send(f);
      await expectViolationClose(ws);
    });
  }

  // socket.io-parser refuses these event names from the client (RESERVED_EVENTS)
  for (const name of ["connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"]) {
    test(`reserved event name 42["${name}"] from the client`, async () => {
      const ws = await session(server);
      ws.send(`42["${name}"]`);
      await expectViolationClose(ws);
    });
  }

  test("an EVENT whose name is a number is valid (no handler, connection stays)", async () => {
    const ws = await session(server);
    ws.send("42[1,2]");
    ws.send('42["echo","after"]');
    assert.equal(await ws.nextText(), '42["echo","after"]');
    ws.terminate();
  });

  test("engine.io packets the client may not send are ignored: `3`, `5`, `6`, `0`", async () => {
    // spec is silent; reference: an unsolicited pong, upgrade, noop or open packet is dropped
    const ws = await session(server);
    for (const p of ["3", "5", "6", "0"]) ws.send(p);
    ws.send('42["echo","after"]');
    assert.equal(await ws.nextText(), '42["echo","after"]');
    ws.terminate();
  });

  test("over long-polling a violation ends the session (next GET ends with `1`)", async () => {
    const polling = await PollingSession.create(server);
    assert.match(await polling.connect("/"), /^40\{"sid":/);
    await polling.send('42{"a":1}');
    const packets = await polling.expectEnded();
    // reference: `42["use-error","invalid payload"]` may come first (scenario error listener),
    // then a noop and the close packet
    assert.equal(packets[packets.length - 1], "1");
  });

  test("over long-polling a first packet other than CONNECT ends the session", async () => {
    const polling = await PollingSession.create(server);
    await polling.send('42["echo",1]');
    const packets = await polling.expectEnded();
    // reference: `6\x1e1` (noop, then the close packet) in one payload
    assert.equal(packets[packets.length - 1], "1");
    assert.deepEqual(packets.slice(0, -1).filter((p) => p !== "6"), []);
  });
});
