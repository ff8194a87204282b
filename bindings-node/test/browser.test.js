"use strict";

// A real browser: headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core)
// opens the seed page served by examples/node/seed.js — which loads /socket.io/socket.io.js
// from roomcast and connects to /my-namespace — and must show "Hello everyone!"; and talks
// to a server with perMessageDeflate, through a proxy that records what went over the wire.

const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { startExample } = require("./examples");
const http = require("node:http");
const { Server } = require("roomcast");
const { test, within } = require("./helpers");
const { recordingProxy, parseStream, extensionsOf } = require("../../tests/harness/wire");

const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

// Developers without Chromium skip this test; CI installs it and must run it.
const missing = !fs.existsSync(CHROMIUM) && !process.env.CI;

// Chromium's first launch on a fresh machine builds its font cache and profile, which can
// take tens of seconds; the page itself still has its own 10 s bound below.
const BROWSER_TEST_MS = 90000;
const LAUNCH_MS = 60000;

test("the seed page shows \"Hello everyone!\" in Chromium", { timeout: BROWSER_TEST_MS, skip: missing && `${CHROMIUM} not found (apt-get install chromium)` }, async () => {
  const { chromium } = require("playwright-core");
  const example = await startExample("seed.js");
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "roomcast-chromium-"));
  let context;
  try {
    context = await within(
      chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS }),
      "Chromium to launch",
      LAUNCH_MS,
    );
    const page = context.pages()[0] || (await context.newPage());
    await within(page.goto(example.url), "the seed page to load", 10000);
    await page.waitForFunction(() => document.body && document.body.textContent.includes("Hello everyone!"), null, {
      timeout: 10000,
    });
    assert.match(await page.textContent("body"), /Hello everyone!/);
  } finally {
    if (context) await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
    const { code } = await example.stop();
    assert.equal(code, 0, example.output());
  }
});

const PAGE = `<!doctype html><body><script src="/socket.io/socket.io.js"></script><script>
  const text = Array.from({ length: 3000 }, (_, i) => "word" + ((i * 7919) % 1009)).join(" ");
  const socket = io({ transports: ["websocket"] });
  socket.on("connect", () => {
    socket.emit("echo", text, (back) => {
      document.body.textContent = back === text ? "echo ok " + back.length : "echo differs";
    });
  });
</script></body>`;

test("Chromium negotiates perMessageDeflate: compressed frames both ways", { timeout: BROWSER_TEST_MS, skip: missing && `${CHROMIUM} not found (apt-get install chromium)` }, async () => {
  const { chromium } = require("playwright-core");
  const httpServer = http.createServer((req, res) => {
    if (req.url === "/") {
      res.writeHead(200, { "content-type": "text/html" });
      res.end(PAGE);
    }
  });
  const io = new Server(httpServer, { perMessageDeflate: true });
  io.on("connection", (socket) => socket.on("echo", (text, ack) => ack(text)));
  await new Promise((resolve) => httpServer.listen(0, "127.0.0.1", resolve));
  const proxy = await recordingProxy(httpServer.address().port);
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "roomcast-chromium-"));
  let context;
  try {
    context = await within(
      chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS }),
      "Chromium to launch",
      LAUNCH_MS,
    );
    const page = context.pages()[0] || (await context.newPage());
    await within(page.goto(proxy.url), "the page to load", 10000);
    await page.waitForFunction(() => document.body && document.body.textContent.startsWith("echo"), null, { timeout: 10000 });
    assert.match(await page.textContent("body"), /^echo ok \d+$/);
    const ws = proxy.connections.find((c) => Buffer.concat(c.fromServer).toString("latin1").startsWith("HTTP/1.1 101"));
    assert.ok(ws, "a WebSocket went through the proxy");
    const fromServer = parseStream(ws.fromServer);
    assert.match(extensionsOf(fromServer.head) || "", /^permessage-deflate\b/);
    assert.ok(fromServer.frames.some((f) => f.rsv1 && f.opcode === 1), "the server compressed the large ack");
    assert.ok(parseStream(ws.fromClient).frames.some((f) => f.rsv1), "Chromium compressed its large event");
  } finally {
    if (context) await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
    await proxy.close();
    await io.close();
    await new Promise((resolve) => httpServer.close(resolve));
  }
});

// The official admin UI's static build, as the npm package @socket.io/admin-ui ships it,
// served by the same express app roomcast is attached to (one origin, as its README suggests).
const ADMIN_UI_DIST = path.resolve(__dirname, "../../tests/node_modules/@socket.io/admin-ui/ui/dist");
// bcrypt (cost 4) of "changeit".
const ADMIN_HASH = "$2a$04$Nuhbtc8R0U8W77mJV6FSBektPVo6XIgJMnjwupIk9Z0PxTLNeVaRS";

test("the official admin UI logs in and shows this server and its sockets", { timeout: BROWSER_TEST_MS, skip: missing && `${CHROMIUM} not found (apt-get install chromium)` }, async () => {
  const { chromium } = require("playwright-core");
  const express = require("express");
  const { io: ioClient } = require("socket.io-client");
  assert.ok(fs.existsSync(path.join(ADMIN_UI_DIST, "index.html")), `the UI's build at ${ADMIN_UI_DIST} (npm ci in tests/)`);
  const app = express();
  app.use(express.static(ADMIN_UI_DIST));
  const httpServer = http.createServer(app);
  const io = new Server(httpServer);
  io.instrument({ auth: { type: "basic", username: "admin", password: ADMIN_HASH }, serverId: "roomcast-in-the-browser" });
  await new Promise((resolve) => httpServer.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${httpServer.address().port}`;
  const user = ioClient(url, { transports: ["websocket"], forceNew: true, reconnection: false });
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "roomcast-chromium-"));
  let context;
  try {
    await within(new Promise((resolve) => user.once("connect", resolve)), "a user to connect");
    context = await within(
      chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS }),
      "Chromium to launch",
      LAUNCH_MS,
    );
    // The page also asks for web fonts and icons from CDNs: not needed, and not reachable offline.
    await context.route(/^https?:\/\/(?!127\.0\.0\.1)/, (route) => route.abort());
    const page = context.pages()[0] || (await context.newPage());
    await within(page.goto(url), "the admin UI to load", 10000);
    await page.getByLabel("Server URL").fill(url, { timeout: 10000 });
    await page.getByLabel("Username").fill("admin");
    await page.getByLabel("Password").fill("changeit");
    await page.getByRole("button", { name: "Connect" }).click();
    await page.waitForFunction(() => document.body.textContent.includes("Status: connected"), null, { timeout: 10000 });

    await page.evaluate(() => (window.location.hash = "#/servers/"));
    await page.getByText("roomcast-in-the-browser").first().waitFor({ timeout: 10000 });

    await page.evaluate(() => (window.location.hash = "#/sockets/"));
    await page.getByText(user.id).first().waitFor({ timeout: 10000 });
  } finally {
    user.close();
    if (context) await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
    await io.close();
  }
});
