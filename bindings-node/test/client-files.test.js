"use strict";

// serveClient: the client files under the path answer as socket.io's do — the same files,
// ETag and 304, br/gzip/deflate by Accept-Encoding, CORS headers — checked side by side
// with a real socket.io server over real HTTP requests.

const assert = require("node:assert/strict");
const fs = require("node:fs");
const http = require("node:http");
const path = require("node:path");
const zlib = require("node:zlib");
const { after } = require("node:test");
const { Server } = require("roomcast");
const h = require("./helpers");

const { test } = h;

// socket.io itself, from the shared test dependencies, as the reference.
const TESTS_MODULES = path.join(__dirname, "..", "..", "tests", "node_modules");
const { Server: SocketIoServer } = require(path.join(TESTS_MODULES, "socket.io"));
const CLIENT_DIST = path.join(path.dirname(require.resolve("socket.io-client/package.json")), "dist");

const FILES = [
  "socket.io.js",
  "socket.io.js.map",
  "socket.io.min.js",
  "socket.io.min.js.map",
  "socket.io.msgpack.min.js",
  "socket.io.msgpack.min.js.map",
  "socket.io.esm.min.js",
  "socket.io.esm.min.js.map",
];

const references = new Set();
after(async () => {
  for (const io of references) io.close();
  await h.cleanup();
});

/** A real socket.io server on an ephemeral port. */
async function reference(opts = {}) {
  const srv = http.createServer();
  const io = new SocketIoServer(srv, opts);
  references.add(io);
  await new Promise((resolve) => srv.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${srv.address().port}`;
}

/** GET (or `method`) with `headers`; the body is decoded as its content-encoding says. */
function request(url, headers = {}, method = "GET") {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => {
        let body = Buffer.concat(chunks);
        const coding = res.headers["content-encoding"];
        if (coding === "br") body = zlib.brotliDecompressSync(body);
        else if (coding === "gzip") body = zlib.gunzipSync(body);
        else if (coding === "deflate") body = zlib.inflateSync(body);
        resolve({ status: res.statusCode, headers: res.headers, body });
      });
    });
    req.on("error", reject);
    req.end();
  });
}

/** The headers socket.io decides on for a client file (not Date, Connection, framing). */
function served(res) {
  const pick = ["content-type", "cache-control", "etag", "content-encoding", "access-control-allow-origin"];
  return Object.fromEntries(pick.map((k) => [k, res.headers[k]]));
}

test("every client file socket.io serves is served, with socket.io's headers and the dist bytes", async () => {
  const io = h.startServer();
  const ours = h.urlOf(io);
  const theirs = await reference();
  for (const file of FILES) {
    const [a, b] = await Promise.all([request(`${ours}/socket.io/${file}`), request(`${theirs}/socket.io/${file}`)]);
    assert.equal(a.status, 200, file);
    assert.equal(b.status, 200, file);
    assert.deepEqual(served(a), served(b), file);
    assert.ok(a.body.equals(fs.readFileSync(path.join(CLIENT_DIST, file))), `${file}: the dist file's bytes`);
  }
  // A query string is ignored, as socket.io strips it.
  assert.equal((await request(`${ours}/socket.io/socket.io.min.js?v=1`)).status, 200);
});

test("If-None-Match with the version (strong or weak) is answered 304, as socket.io does", async () => {
  const io = h.startServer();
  const ours = h.urlOf(io);
  const theirs = await reference();
  const first = await request(`${ours}/socket.io/socket.io.js`);
  const etag = first.headers.etag;
  assert.match(etag, /^"\d+\.\d+\.\d+"$/);
  for (const tag of [etag, `W/${etag}`, '"0.0.0"']) {
    const [a, b] = await Promise.all([
      request(`${ours}/socket.io/socket.io.js`, { "if-none-match": tag }),
      request(`${theirs}/socket.io/socket.io.js`, { "if-none-match": tag }),
    ]);
    assert.equal(a.status, b.status, tag);
    if (a.status === 304) assert.equal(a.body.length, 0);
  }
  assert.equal((await request(`${ours}/socket.io/socket.io.js`, { "if-none-match": etag })).status, 304);
});

test("Accept-Encoding picks br, gzip or deflate as socket.io does; the body decodes to the file", async () => {
  const io = h.startServer();
  const ours = h.urlOf(io);
  const theirs = await reference();
  const file = fs.readFileSync(path.join(CLIENT_DIST, "socket.io.min.js"));
  const accepts = ["br", "gzip", "deflate", "gzip, deflate, br", "br;q=0.5, gzip", "*", "identity", "zstd"];
  for (const accept of accepts) {
    const headers = { "accept-encoding": accept };
    const [a, b] = await Promise.all([
      request(`${ours}/socket.io/socket.io.min.js`, headers),
      request(`${theirs}/socket.io/socket.io.min.js`, headers),
    ]);
    assert.equal(a.headers["content-encoding"], b.headers["content-encoding"], accept);
    assert.ok(a.body.equals(file), `${accept}: decodes to the file`);
  }
  const br = await request(`${ours}/socket.io/socket.io.min.js`, { "accept-encoding": "br" });
  assert.equal(br.headers["content-encoding"], "br");
  assert.equal(br.headers.vary, "Accept-Encoding");
});

test("with cors, client files carry the CORS headers and a preflight is answered, as socket.io does", async () => {
  const cors = { origin: ["https://app.example"], credentials: true };
  const io = h.startServer({ cors });
  const ours = h.urlOf(io);
  const theirs = await reference({ cors });
  for (const origin of ["https://app.example", "https://elsewhere.example"]) {
    const headers = { origin };
    const [a, b] = await Promise.all([
      request(`${ours}/socket.io/socket.io.js`, headers),
      request(`${theirs}/socket.io/socket.io.js`, headers),
    ]);
    assert.equal(a.status, 200);
    for (const k of ["access-control-allow-origin", "access-control-allow-credentials"]) {
      assert.equal(a.headers[k], b.headers[k], `${origin}: ${k}`);
    }
    assert.match(a.headers.vary, /Origin/);
    const [pa, pb] = await Promise.all([
      request(`${ours}/socket.io/socket.io.js`, headers, "OPTIONS"),
      request(`${theirs}/socket.io/socket.io.js`, headers, "OPTIONS"),
    ]);
    assert.equal(pa.status, pb.status, `${origin}: preflight`);
    assert.equal(pa.headers["access-control-allow-methods"], pb.headers["access-control-allow-methods"]);
  }
  // A 304 carries them too.
  const etag = (await request(`${ours}/socket.io/socket.io.js`)).headers.etag;
  const cached = await request(`${ours}/socket.io/socket.io.js`, { origin: "https://app.example", "if-none-match": etag });
  assert.equal(cached.status, 304);
  assert.equal(cached.headers["access-control-allow-origin"], "https://app.example");
});

test("attached to an http.Server, the client files are served the same way", async () => {
  const srv = http.createServer((req, res) => {
    res.writeHead(404);
    res.end();
  });
  const io = new Server(srv);
  await new Promise((resolve) => srv.listen(0, "127.0.0.1", resolve));
  try {
    const url = `http://127.0.0.1:${srv.address().port}/socket.io/socket.io.esm.min.js.map`;
    const res = await request(url, { "accept-encoding": "gzip" });
    assert.equal(res.status, 200);
    assert.equal(res.headers["content-type"], "application/json; charset=utf-8");
    assert.equal(res.headers["content-encoding"], "gzip");
    assert.ok(res.body.equals(fs.readFileSync(path.join(CLIENT_DIST, "socket.io.esm.min.js.map"))));
    // Not a client file: Engine.IO's answer, as socket.io's.
    assert.equal((await request(`http://127.0.0.1:${srv.address().port}/socket.io/socket.io.cjs`)).status, 400);
  } finally {
    await new Promise((resolve) => io.close(resolve));
  }
});

test("serveClient: false serves no client file", async () => {
  const io = h.startServer({ serveClient: false });
  for (const file of ["socket.io.js", "socket.io.min.js.map"]) {
    assert.equal((await request(`${h.urlOf(io)}/socket.io/${file}`)).status, 400, file);
  }
});
