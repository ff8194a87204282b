"use strict";

// CORS on the long-polling transport. Not part of the engine.io protocol text: engine.io applies
// the `cors` middleware (the test suite of the protocol runs with `cors: {origin: "*"}`). The
// scenario contract maps CORS_ORIGIN / CORS_CREDENTIALS to those options.

const assert = require("node:assert/strict");
const { test, describe, before, after, startServer, cleanup, request, eioPath, assertErrorBody, WsClient } = require("./lib");
const harness = require("../harness/server");

const METHODS = "GET,HEAD,PUT,PATCH,POST,DELETE";

function preflight(server, origin, extra = {}) {
  return request(server, "OPTIONS", eioPath(server), {
    headers: { origin, "access-control-request-method": "POST", ...extra },
  });
}

function corsHeaders(res) {
  return Object.fromEntries(Object.entries(res.headers).filter(([k]) => k.startsWith("access-control-")));
}

describe("CORS unset", () => {
  let server;
  before(async () => {
    server = await startServer({});
  });
  after(() => cleanup(server));

  test("no access-control-* header on polling responses", async () => {
    const res = await request(server, "GET", eioPath(server), { headers: { origin: "http://a.example" } });
    assert.equal(res.status, 200);
    assert.deepEqual(corsHeaders(res), {});
  });

  test("a preflight is not answered: 400 code 2 Bad handshake method", async () => {
    const res = await preflight(server, "http://a.example");
    assertErrorBody(res, 2, "Bad handshake method");
    assert.deepEqual(corsHeaders(res), {});
  });
});

describe("CORS_ORIGIN=*", () => {
  let server;
  before(async () => {
    server = await startServer({ CORS_ORIGIN: "*" });
  });
  after(() => cleanup(server));

  test("polling responses carry access-control-allow-origin: * (with or without Origin)", async () => {
    const withOrigin = await request(server, "GET", eioPath(server), { headers: { origin: "http://a.example" } });
    assert.equal(withOrigin.status, 200);
    assert.deepEqual(corsHeaders(withOrigin), { "access-control-allow-origin": "*" });
    const without = await request(server, "GET", eioPath(server));
    assert.deepEqual(corsHeaders(without), { "access-control-allow-origin": "*" });
    const sid = JSON.parse(withOrigin.text.slice(1)).sid;
    const post = await request(server, "POST", eioPath(server, { sid }), {
      headers: { origin: "http://a.example", "content-type": "text/plain;charset=UTF-8" },
      body: "40",
    });
    assert.equal(post.text, "ok");
    assert.deepEqual(corsHeaders(post), { "access-control-allow-origin": "*" });
  });

  test("error responses carry the header too", async () => {
    const res = await request(server, "GET", eioPath(server, { transport: "foo" }), {
      headers: { origin: "http://a.example" },
    });
    assertErrorBody(res, 0, "Transport unknown");
    assert.equal(res.headers["access-control-allow-origin"], "*");
  });

  test("preflight OPTIONS -> 204, allowed methods, requested headers reflected", async () => {
    const res = await preflight(server, "http://a.example", { "access-control-request-headers": "content-type,x-foo" });
    assert.equal(res.status, 204);
    assert.equal(res.text, "");
    assert.deepEqual(corsHeaders(res), {
      "access-control-allow-origin": "*",
      "access-control-allow-methods": METHODS,
      "access-control-allow-headers": "content-type,x-foo",
    });
    // RFC 9110 §8.6: a 204 carries no Content-Length (the reference sends "0"; either is fine)
    assert.ok([undefined, "0"].includes(res.headers["content-length"]));
    assert.match(res.headers.vary || "", /Access-Control-Request-Headers/);
  });
});

describe("CORS_ORIGIN=http://a.example with CORS_CREDENTIALS=1", () => {
  let server;
  before(async () => {
    server = await startServer({ CORS_ORIGIN: "http://a.example", CORS_CREDENTIALS: "1" });
  });
  after(() => cleanup(server));

  test("the allowed origin is echoed, with allow-credentials true and Vary: Origin", async () => {
    const res = await request(server, "GET", eioPath(server), { headers: { origin: "http://a.example" } });
    assert.equal(res.status, 200);
    assert.deepEqual(corsHeaders(res), {
      "access-control-allow-origin": "http://a.example",
      "access-control-allow-credentials": "true",
    });
    assert.match(res.headers.vary || "", /\bOrigin\b/);
  });

  test("another origin gets no allow-origin header (the request itself is still served)", async () => {
    const res = await request(server, "GET", eioPath(server), { headers: { origin: "http://c.example" } });
    assert.equal(res.status, 200);
    assert.equal(res.headers["access-control-allow-origin"], undefined);
    // reference: the cors middleware sends allow-credentials whatever the origin
    assert.equal(res.headers["access-control-allow-credentials"], "true");
  });

  test("preflight from the allowed origin -> 204 with origin, credentials, methods", async () => {
    const res = await preflight(server, "http://a.example", { "access-control-request-headers": "content-type" });
    assert.equal(res.status, 204);
    assert.equal(res.text, "");
    assert.deepEqual(corsHeaders(res), {
      "access-control-allow-origin": "http://a.example",
      "access-control-allow-credentials": "true",
      "access-control-allow-methods": METHODS,
      "access-control-allow-headers": "content-type",
    });
  });

  test("preflight from another origin -> 204 without allow-origin", async () => {
    const res = await preflight(server, "http://c.example");
    assert.equal(res.status, 204);
    assert.equal(res.headers["access-control-allow-origin"], undefined);
  });
});

describe("CORS_ORIGIN=http://a.example,http://b.example (a list, no credentials)", () => {
  let server;
  before(async () => {
    server = await startServer({ CORS_ORIGIN: "http://a.example,http://b.example" });
  });
  after(() => cleanup(server));

  test("each listed origin is echoed; no allow-credentials header", async () => {
    for (const origin of ["http://a.example", "http://b.example"]) {
      const res = await request(server, "GET", eioPath(server), { headers: { origin } });
      assert.equal(res.status, 200);
      assert.deepEqual(corsHeaders(res), { "access-control-allow-origin": origin });
    }
  });

  test("an unlisted origin gets no access-control-* header", async () => {
    const res = await request(server, "GET", eioPath(server), { headers: { origin: "http://c.example" } });
    assert.equal(res.status, 200);
    assert.deepEqual(corsHeaders(res), {});
  });
});

// Browsers do not apply CORS to WebSocket, so any page could open one with the user's cookies
// (cross-site WebSocket hijacking). socket.io leaves that to `allowRequest`; roomcast refuses a
// WebSocket whose Origin is not in the CORS origin list. Requests without Origin (not from a
// browser page) pass, and polling keeps the reference behaviour above: the browser hides the
// answers from a foreign page.
describe("CORS_ORIGIN list: the Origin of WebSocket handshakes", () => {
  const reference = harness.flavour() === "reference";
  const roomcastOnly = reference ? "socket.io does not check the Origin of a WebSocket" : false;
  let server;
  before(async () => {
    server = await startServer({ CORS_ORIGIN: "http://a.example,http://b.example" });
  });
  after(() => cleanup(server));

  test("a listed Origin, or none, opens a WebSocket session", async () => {
    for (const headers of [{ origin: "http://b.example" }, {}]) {
      const client = await WsClient.open(server, {}, { headers });
      assert.ok(client instanceof WsClient, `refused: ${JSON.stringify(client)}`);
      assert.match((await client.next()).text, /^0\{/);
      client.terminate();
    }
  });

  test("an unlisted Origin is refused with 403 and a logged reason", { skip: roomcastOnly }, async () => {
    for (const origin of ["http://evil.example", "null", "http://a.example.evil.example"]) {
      const result = await WsClient.open(server, {}, { headers: { origin } });
      assert.equal(result.rejected?.status, 403, `origin ${origin}: ${JSON.stringify(result)}`);
      assert.match(result.rejected.text, /Origin not allowed/);
    }
    if (server.flavour === "rust") assert.match(server.stderr(), /Origin is not in the CORS origin list/);
  });

  test("the upgrade of a polling session from an unlisted Origin is refused; the session lives on", { skip: roomcastOnly }, async () => {
    const open = await request(server, "GET", eioPath(server), { headers: { origin: "http://a.example" } });
    const sid = JSON.parse(open.text.slice(1)).sid;
    const refused = await WsClient.open(server, { sid }, { headers: { origin: "http://evil.example" } });
    assert.equal(refused.rejected?.status, 403);
    const upgraded = await WsClient.open(server, { sid }, { headers: { origin: "http://a.example" } });
    assert.ok(upgraded instanceof WsClient, `refused: ${JSON.stringify(upgraded)}`);
    upgraded.send("2probe");
    assert.equal((await upgraded.next()).text, "3probe");
    upgraded.terminate();
  });
});
