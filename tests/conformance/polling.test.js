"use strict";

// HTTP long-polling transport: "Sending and receiving data" and "Packet encoding / HTTP
// long-polling" of the engine.io protocol.

const assert = require("node:assert/strict");
const http = require("node:http");
const {
  test,
  describe,
  before,
  after,
  startServer,
  cleanup,
  within,
  afterArrival,
  decodePayload,
  PollingSession,
} = require("./lib");

const MAX = 1000;

/** A polling session connected to namespace `/`. */
async function connected(server) {
  const session = await PollingSession.create(server);
  const answer = await session.connect("/");
  assert.match(answer, /^40\{"sid":"[A-Za-z0-9_-]{20}"\}$/);
  return session;
}

describe("long-polling", () => {
  let server;
  before(async () => {
    // default heartbeat (25 s): no ping interferes with these exchanges
    server = await startServer({ MAX_HTTP_BUFFER_SIZE: String(MAX) });
  });
  after(() => cleanup(server));

  test("a POST is answered 200 `ok` (text/html, content-length 2)", async () => {
    const session = await PollingSession.create(server);
    const res = await session.post("40");
    assert.equal(res.status, 200);
    assert.equal(res.text, "ok");
    // not in the spec: engine.io answers text/html to avoid download dialogs in old browsers
    assert.equal(res.headers["content-type"], "text/html");
    assert.equal(res.headers["content-length"], "2");
  });

  test("a GET is held until there is something to send", async () => {
    const session = await connected(server);
    let answered = false;
    const pending = session.get(5000).then((res) => {
      answered = true;
      return res;
    });
    // bounded "nothing happens within 200 ms" window: the long-poll stays open
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(answered, false, "the GET must stay pending while nothing is buffered");
    await session.send('42["echo","late"]');
    const res = await within(pending, 3000, "pending GET");
    assert.equal(res.status, 200);
    assert.equal(res.text, '42["echo","late"]');
    assert.equal(res.headers["content-type"], "text/plain; charset=UTF-8");
  });

  test("a POST with several packets; buffered answers come back joined by \\x1e", async () => {
    const session = await connected(server);
    await session.send(['42["echo",1]', '421["echo","a",2]', '42["echo",{"k":[true,null]}]']);
    // Handlers may run after the POST is answered (a host runtime does), so the answers can be
    // spread over several GETs; what is fixed is their order and the framing of each payload
    // (checked by poll()).
    const expected = ['42["echo",1]', '431["a",2]', '42["echo",{"k":[true,null]}]'];
    const seen = await session.pollUntil((p) => p === expected[expected.length - 1]);
    assert.deepEqual(seen, expected);
  });

  test("binary in both directions is base64 with a `b` prefix", async () => {
    const session = await connected(server);
    // BINARY_EVENT with ack id 7 and one attachment <01 02 03 04>
    await session.send(['451-7["binary",{"_placeholder":true,"num":0}]', "bAQIDBA=="]);
    const packets = await session.pollUntil((p) => p.startsWith("451-"));
    assert.deepEqual(packets, [
      '461-7[{"_placeholder":true,"num":0}]',
      "bAQIDBA==",
      '451-["binary-back",{"_placeholder":true,"num":0}]',
      "bAQIDBA==",
    ]);
  });

  test("UTF-8: lengths are bytes, text round-trips unchanged", async () => {
    const session = await connected(server);
    const text = "é€😀 \u0000 \u2028";
    await session.send(`42${JSON.stringify(["echo", text])}`);
    const res = await session.get();
    assert.equal(res.status, 200);
    assert.equal(Number(res.headers["content-length"]), Buffer.byteLength(res.text));
    assert.deepEqual(JSON.parse(res.text.slice(2)), ["echo", text]);
  });

  test("a POST body of exactly maxHttpBufferSize bytes is accepted", async () => {
    const session = await connected(server);
    const payload = `42["echo","${"x".repeat(MAX - 13)}"]`;
    assert.equal(Buffer.byteLength(payload), MAX);
    await session.send(payload);
    const packets = await session.poll();
    assert.deepEqual(packets, [payload]);
  });

  test("a POST body over maxHttpBufferSize -> 413; the session stays usable", async () => {
    const session = await connected(server);
    const res = await session.post(`42["echo","${"x".repeat(MAX)}"]`);
    assert.equal(res.status, 413);
    assert.equal(res.text, "");
    // reference: the oversized POST is refused but the session is not closed
    await session.send('42["echo","still here"]');
    assert.deepEqual(await session.poll(), ['42["echo","still here"]']);
  });

  test("maxHttpBufferSize counts bytes, not characters", async () => {
    const session = await connected(server);
    const body = `4${"é".repeat(MAX / 2)}`; // 501 characters, 1001 bytes
    const res = await session.post(body);
    assert.equal(res.status, 413);
  });

  test("a second concurrent GET -> 400, the first GET gets the close packet, the session ends", async () => {
    const session = await connected(server);
    const first = session.get();
    await afterArrival(server, first);
    const second = await session.get();
    assert.equal(second.status, 400);
    // reference: the overlap answer has an empty body, not an engine.io error object
    assert.equal(second.text, "");
    const res = await within(first, 3000, "first GET");
    assert.equal(res.status, 200);
    assert.deepEqual(decodePayload(res.text), ["1"]);
    await session.expectGone();
  });

  test("a second concurrent POST -> 400 and the session ends", async () => {
    const session = await connected(server);
    // a POST whose body never completes keeps the first data request open
    const slow = http.request({
      host: "127.0.0.1",
      port: server.port,
      method: "POST",
      path: session.path(),
      agent: false,
      headers: { "content-type": "text/plain;charset=UTF-8", "content-length": "100" },
    });
    slow.on("error", () => {});
    slow.on("response", (r) => r.resume());
    try {
      await within(new Promise((resolve) => slow.write("42", resolve)), 3000, "partial POST written");
      await afterArrival(server, null);
      const second = await session.post('42["echo",1]');
      assert.equal(second.status, 400);
      assert.equal(second.text, "");
      await session.expectEnded();
    } finally {
      slow.destroy();
    }
  });

  test("a POST with content-type application/octet-stream -> 400 and the session ends", async () => {
    // v4 sends binary as base64 text only
    const session = await connected(server);
    const res = await session.post("4hello", { headers: { "content-type": "application/octet-stream" } });
    assert.equal(res.status, 400);
    assert.equal(res.text, "");
    await session.expectEnded();
  });
});
