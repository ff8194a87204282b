"use strict";

// httpCompression (engine.io, on by default with a 1024-byte threshold): polling responses of
// at least the threshold are gzip- or deflate-encoded when the request accepts it.

const assert = require("node:assert/strict");
const zlib = require("node:zlib");
const { test, before, after, startServer, cleanup, request, PollingSession, SEP } = require("./lib");

let server;
before(async () => {
  server = await startServer();
});
after(() => cleanup(server));

async function sessionWithEcho(size) {
  const s = await PollingSession.create(server);
  await s.post("40");
  await s.poll(); // the CONNECT answer
  await s.post(`42["echo","${"x".repeat(size)}"]`);
  return s;
}

for (const [encoding, inflate] of [["gzip", zlib.gunzipSync], ["deflate", zlib.inflateSync]]) {
  test(`a large polling response is ${encoding}-encoded when accepted`, async () => {
    const s = await sessionWithEcho(4000);
    const res = await request(server, "GET", s.path(), { headers: { "accept-encoding": encoding } });
    assert.equal(res.status, 200);
    assert.equal(res.headers["content-encoding"], encoding);
    const text = inflate(res.body).toString("utf8");
    assert.equal(text.split(SEP).pop(), `42["echo","${"x".repeat(4000)}"]`);
  });
}

test("a response under the threshold, or without Accept-Encoding, is sent as is", async () => {
  const small = await sessionWithEcho(10);
  const res = await request(server, "GET", small.path(), { headers: { "accept-encoding": "gzip" } });
  assert.equal(res.headers["content-encoding"], undefined);
  assert.equal(res.text, '42["echo","xxxxxxxxxx"]');

  const large = await sessionWithEcho(4000);
  const plain = await request(server, "GET", large.path());
  assert.equal(plain.headers["content-encoding"], undefined);
  assert.ok(plain.text.endsWith(`${"x".repeat(4000)}"]`));
});

test("a polling response whose packets were all sent with compress(false) is sent as is", async () => {
  const s = await PollingSession.create(server);
  await s.post("40");
  await s.poll(); // the CONNECT answer
  const big = "x".repeat(4000);
  await s.post(`42["echo-uncompressed","${big}"]`);
  // Two packets, sent uncompressed: to the socket, and through a broadcast to its room. They
  // may come in one response or two; none may be encoded.
  const packets = [];
  while (packets.length < 2) {
    const res = await request(server, "GET", s.path(), { headers: { "accept-encoding": "gzip" } });
    assert.equal(res.status, 200);
    assert.equal(res.headers["content-encoding"], undefined, "compress(false) turns gzip off");
    packets.push(...res.text.split(SEP));
  }
  assert.deepEqual(packets.sort(), [`42["echo","${big}"]`, `42["echo-room","${big}"]`]);
});
