#!/usr/bin/env node
"use strict";

// Builds the native addon with cargo and places it next to index.js as
// roomcast.<platform>-<arch>.node. Runs on `npm install` (the `install` script), so
// `npm install ./bindings-node` works on any machine with a Rust toolchain.
//
//   node scripts/build.js            debug build (enough for tests)
//   node scripts/build.js --release  optimised build
//
// ROOMCAST_SKIP_BUILD=1 skips the build (a prebuilt addon is already in place).

const { spawnSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");

const PACKAGE_DIR = path.resolve(__dirname, "..");
const ADDON = path.join(PACKAGE_DIR, `roomcast.${process.platform}-${process.arch}.node`);
const CRATE = "roomcast-node";
const LIB_NAME = "roomcast_node";

function fail(message) {
  process.stderr.write(`roomcast build: ${message}\n`);
  process.exit(1);
}

function main() {
  if (process.env.ROOMCAST_SKIP_BUILD === "1") {
    if (!fs.existsSync(ADDON)) fail(`ROOMCAST_SKIP_BUILD=1 but ${ADDON} does not exist`);
    return;
  }
  const release = process.argv.includes("--release") || process.env.ROOMCAST_BUILD_PROFILE === "release";
  const cargo = process.env.CARGO || "cargo";
  const args = ["build", "-p", CRATE, "--message-format=json-render-diagnostics"];
  if (release) args.push("--release");

  const result = spawnSync(cargo, args, {
    cwd: PACKAGE_DIR,
    stdio: ["ignore", "pipe", "inherit"],
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
  });
  if (result.error) {
    if (result.error.code === "ENOENT") {
      fail(
        `\`${cargo}\` was not found. roomcast's native addon is built from Rust sources: ` +
          "install a toolchain (https://rustup.rs), then run `npm run build` here.",
      );
    }
    fail(`cannot run ${cargo}: ${result.error.message}`);
  }
  if (result.status !== 0) fail(`cargo build failed (exit status ${result.status}); see the errors above`);

  const built = findArtifact(result.stdout);
  if (!built) fail(`cargo reported no library artifact for ${CRATE}`);

  // Write beside, then rename: a process that has the old addon loaded keeps its copy.
  const tmp = `${ADDON}.${process.pid}.tmp`;
  fs.copyFileSync(built, tmp);
  fs.renameSync(tmp, ADDON);
  process.stderr.write(`roomcast build: ${path.relative(process.cwd(), ADDON) || ADDON} (${release ? "release" : "debug"})\n`);
}

/** The cdylib cargo built, from its JSON messages. */
function findArtifact(stdout) {
  let found = null;
  for (const line of stdout.split("\n")) {
    if (!line.startsWith("{")) continue;
    let msg;
    try {
      msg = JSON.parse(line);
    } catch {
      continue;
    }
    if (msg.reason !== "compiler-artifact" || !msg.target || msg.target.name !== LIB_NAME) continue;
    for (const file of msg.filenames || []) {
      if (/\.(so|dylib|dll)$/.test(file)) found = file;
    }
  }
  return found;
}

main();
