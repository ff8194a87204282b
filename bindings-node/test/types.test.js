"use strict";

// index.d.ts: socket.io-style typed event maps type-check, and misuse is an error
// (test/types/usage.ts has @ts-expect-error lines that fail the build if they stop failing).

const assert = require("node:assert/strict");
const { spawnSync } = require("node:child_process");
const path = require("node:path");
const { test } = require("./helpers");

test("the TypeScript declarations compile against typed usage", () => {
  const tsc = require.resolve("typescript/bin/tsc");
  const result = spawnSync(process.execPath, [tsc, "-p", path.join(__dirname, "types", "tsconfig.json")], {
    encoding: "utf8",
    timeout: 60000,
  });
  assert.equal(result.status, 0, `${result.stdout}${result.stderr}`);
});
