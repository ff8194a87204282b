"use strict";

// allowRequest: a handshake the hook refuses gets 403 {"code":4,"message":"Forbidden"} over
// polling and a plain 403 on a WebSocket upgrade; an accepted one opens a session.

const assert = require("node:assert/strict");
const WebSocket = require("ws");
const { test, before, after, startServer, cleanup, request, eioPath, assertErrorBody, parseOpen, within } = require("./lib");

const ORIGIN = "http://allowed.example";
let server;
before(async () => {
  server = await startServer({ ALLOW_ORIGIN: ORIGIN });
});
after(() => cleanup(server));

test("polling: a refused handshake is 403 code 4 Forbidden; an allowed one opens", async () => {
  const refused = await request(server, "GET", eioPath(server), { headers: { origin: "http://evil.example" } });
  assertErrorBody(refused, 4, "Forbidden");
  const allowed = await request(server, "GET", eioPath(server), { headers: { origin: ORIGIN } });
  assert.equal(allowed.status, 200);
  assert.ok(parseOpen(allowed.text).sid);
});

test("websocket: a refused upgrade gets HTTP 400 (engine.io refuses every upgrade so), an allowed one the open packet", async () => {
  const url = `ws://127.0.0.1:${server.port}${eioPath(server, { transport: "websocket" })}`;
  const refused = new WebSocket(url, { origin: "http://evil.example" });
  const status = await within(
    new Promise((resolve) => {
      refused.on("unexpected-response", (_req, res) => {
        let body = "";
        res.on("data", (c) => (body += c));
        res.on("end", () => resolve([res.statusCode, body]));
      });
      refused.on("error", () => {});
    }),
    3000,
    "refusal",
  );
  assert.deepEqual(status, [400, "Forbidden"]);
  const ok = new WebSocket(url, { origin: ORIGIN });
  const [first] = await within(new Promise((resolve) => ok.once("message", (m) => resolve([String(m)]))), 3000, "open");
  assert.ok(first.startsWith("0{"));
  ok.close();
});
