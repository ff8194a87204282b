"use strict";

// A real browser: headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core)
// opens the seed page served by examples/node/seed.js — which loads /socket.io/socket.io.js
// from roomcast and connects to /my-namespace — and must show "Hello everyone!".

const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { startExample } = require("./examples");
const { test } = require("./helpers");

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

test("the seed page shows \"Hello everyone!\" in Chromium", { skip: missing && `${CHROMIUM} not found (apt-get install chromium)` }, async () => {
  const { chromium } = require("playwright-core");
  const example = await startExample("seed.js");
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "roomcast-chromium-"));
  let context;
  try {
    context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS });
    const page = context.pages()[0] || (await context.newPage());
    await page.goto(example.url);
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
