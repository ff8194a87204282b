"use strict";

// Engine.IO error answers: the codes and messages of engine.io's Server.errors /
// Server.errorMessages, and the HTTP status abortRequest() gives them (403 for Forbidden,
// 400 otherwise). Spec: "If a mandatory query parameter is missing, then the server MUST respond
// with an HTTP 400 error status" and "MUST return an HTTP 400 response if the session ID ... is
// not known".

const assert = require("node:assert/strict");
const {
  test,
  describe,
  before,
  after,
  startServer,
  cleanup,
  request,
  assertErrorBody,
  PollingSession,
  WsClient,
} = require("./lib");

describe("HTTP error codes", () => {
  let server;
  before(async () => {
    server = await startServer({});
  });
  after(() => cleanup(server));

  const sio = "/socket.io/";
  const cases = [
    // [title, method, query, code, message]
    ["unknown transport", "GET", "EIO=4&transport=foo", 0, "Transport unknown"],
    ["missing transport", "GET", "EIO=4", 0, "Transport unknown"],
    ["unknown sid on GET", "GET", "EIO=4&transport=polling&sid=AAAAAAAAAAAAAAAAAAAA", 1, "Session ID unknown"],
    ["unknown sid on POST", "POST", "EIO=4&transport=polling&sid=nope", 1, "Session ID unknown"],
    ["POST handshake", "POST", "EIO=4&transport=polling", 2, "Bad handshake method"],
    ["PUT handshake", "PUT", "EIO=4&transport=polling", 2, "Bad handshake method"],
    ["DELETE handshake", "DELETE", "EIO=4&transport=polling", 2, "Bad handshake method"],
    // without CORS configured nothing answers the preflight, so it is a bad handshake too
    ["OPTIONS handshake without CORS", "OPTIONS", "EIO=4&transport=polling", 2, "Bad handshake method"],
    ["websocket transport over plain GET", "GET", "EIO=4&transport=websocket", 3, "Bad request"],
    // reference: allowEIO3 is off, so EIO=3 and a missing EIO are refused like any other version
    ["EIO=5", "GET", "EIO=5&transport=polling", 5, "Unsupported protocol version"],
    ["EIO=3", "GET", "EIO=3&transport=polling", 5, "Unsupported protocol version"],
    ["missing EIO", "GET", "transport=polling", 5, "Unsupported protocol version"],
  ];
  for (const [title, method, query, code, message] of cases) {
    test(`${title}: ${method} ?${query} -> 400 {"code":${code}}`, async () => {
      const res = await request(server, method, `${sio}?${query}`, method === "GET" ? {} : { body: "" });
      assertErrorBody(res, code, message);
    });
  }

  test("the transport check comes before the sid check", async () => {
    const res = await request(server, "GET", `${sio}?EIO=4&transport=foo&sid=nope`);
    assertErrorBody(res, 0, "Transport unknown");
  });

  test("a known sid with transport=websocket on a plain GET -> code 3 Bad request", async () => {
    const session = await PollingSession.create(server);
    const res = await request(server, "GET", `${sio}?EIO=4&transport=websocket&sid=${session.sid}`);
    assertErrorBody(res, 3, "Bad request");
  });

  test("a known sid with another protocol version -> code 3 Bad request", async () => {
    const session = await PollingSession.create(server);
    const res = await request(server, "GET", `${sio}?EIO=3&transport=polling&sid=${session.sid}`);
    assertErrorBody(res, 3, "Bad request");
  });

  test("an unsupported method on a known sid -> 500 with an empty body", async () => {
    // not in the spec: engine.io's polling transport answers any method but GET/POST with 500
    const session = await PollingSession.create(server);
    const res = await request(server, "PUT", session.path(), { body: "" });
    assert.equal(res.status, 500);
    assert.equal(res.text, "");
  });
});

describe("WebSocket upgrade errors", () => {
  let server;
  before(async () => {
    server = await startServer({});
  });
  after(() => cleanup(server));

  test("unknown sid: the upgrade is refused with HTTP 400 and the message as text", async () => {
    const result = await WsClient.open(server, { sid: "AAAAAAAAAAAAAAAAAAAA" });
    assert.ok(result.rejected, "the upgrade must not succeed");
    assert.equal(result.rejected.status, 400);
    assert.equal(result.rejected.text, "Session ID unknown");
    // reference: abortUpgrade() writes a bare HTTP/1.1 400 with a text/html body
    assert.equal(result.rejected.headers["content-type"], "text/html");
  });

  test("unknown transport: the upgrade is refused with HTTP 400 Transport unknown", async () => {
    const result = await WsClient.open(server, { transport: "foo" });
    assert.ok(result.rejected, "the upgrade must not succeed");
    assert.equal(result.rejected.status, 400);
    assert.equal(result.rejected.text, "Transport unknown");
  });

  test("a protocol version other than 4 never gets an open packet", async () => {
    const result = await WsClient.open(server, { EIO: "5" });
    if (result.rejected) {
      assert.equal(result.rejected.status, 400);
      return;
    }
    // reference: the upgrade completes (101), then the raw text of an HTTP 400 response is
    // written into the stream and the TCP connection is destroyed
    const client = result instanceof WsClient ? result : result.client;
    const { code } = await client.waitClosed();
    assert.equal(client.queue.length, 0, "no engine.io packet may arrive");
    assert.notEqual(code, 1000);
  });

  test("transport=polling on an upgrade request never gets an open packet", async () => {
    const result = await WsClient.open(server, { transport: "polling" });
    if (result.rejected) {
      assert.equal(result.rejected.status, 400);
      return;
    }
    // reference: the upgrade completes, then the websocket is closed without any frame
    const client = result instanceof WsClient ? result : result.client;
    await client.waitClosed();
    assert.equal(client.queue.length, 0, "no engine.io packet may arrive");
  });
});
