"use strict";

// Request bodies on an attached http.Server pass through an unbounded channel to the core:
// past maxHttpBufferSize nothing more may be kept, whether the core reads the body (a POST,
// answered 413) or never does (a long-polling GET).

const { after } = require("node:test");
const assert = require("node:assert/strict");
const http = require("node:http");
const { Server } = require("roomcast");
const h = require("./helpers");
const { test } = h;

after(() => h.cleanup());

const LIMIT = 1000;

async function attached() {
  const httpServer = http.createServer();
  const io = new Server(httpServer, { maxHttpBufferSize: LIMIT });
  await new Promise((resolve) => httpServer.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${httpServer.address().port}/socket.io/?EIO=4&transport=polling`;
  const open = await (await fetch(base)).text();
  const sid = JSON.parse(open.slice(1)).sid;
  return { io, url: `${base}&sid=${sid}` };
}

/** Sends `total` bytes of body with `method`, chunk by chunk. `written` resolves once the
 *  whole body is out, `answer` with the response. */
function streamed(url, method, total, chunkSize = 64 * 1024) {
  let req;
  const answer = new Promise((resolve, reject) => {
    // An explicit length: Node sends a GET without one unframed.
    const headers = { "content-type": "text/plain;charset=UTF-8", "content-length": String(Math.ceil(total / chunkSize) * chunkSize) };
    req = http.request(url, { method, headers }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c) => (text += c));
      res.on("end", () => resolve({ status: res.statusCode, text }));
    });
    req.on("error", reject);
  });
  const written = new Promise((resolve) => req.once("finish", resolve));
  const chunk = Buffer.alloc(chunkSize, 0x61);
  let sent = 0;
  const pump = () => {
    while (sent < total) {
      sent += chunk.length;
      if (!req.write(chunk)) return req.once("drain", pump);
    }
    req.end();
  };
  pump();
  return { written, answer };
}

test("a POST body over maxHttpBufferSize is still answered 413", async () => {
  const { io, url } = await attached();
  try {
    const res = await h.within(streamed(url, "POST", 8 * LIMIT, 256).answer, "the POST's answer");
    assert.equal(res.status, 413);
  } finally {
    await io.close();
  }
});

test("a long-polling GET's body is not kept while the poll waits", async () => {
  const { io, url } = await attached();
  try {
    const before = process.memoryUsage().rss;
    const poll = streamed(url, "GET", 256 * 1024 * 1024);
    await h.within(poll.written, "256 MiB of GET body written", 30000);
    const grown = (process.memoryUsage().rss - before) / (1024 * 1024);
    // Then the poll still answers: a CONNECT gives it a packet.
    const post = await fetch(url, { method: "POST", body: "40" });
    assert.equal(post.status, 200);
    const res = await h.within(poll.answer, "the GET's answer");
    assert.equal(res.status, 200);
    assert.match(res.text, /^40\{"sid"/);
    assert.ok(grown < 128, `RSS grew by ${grown.toFixed(0)} MiB while 256 MiB of GET body streamed in`);
  } finally {
    await io.close();
  }
});
