#!/usr/bin/env node
"use strict";

// Builds the native addon from Rust sources with cargo and places it beside index.js as
// roomcast.<target>.node (lib/platform.js names the target). Two layouts:
//   - the published package carries the sources in native/ (a small Cargo workspace: the core,
//     this binding's crate and the workspace's Cargo.lock);
//   - a repository checkout builds bindings-node/ inside the repository's workspace.
//
//   node scripts/build.js            release build, the `dist` profile the prebuilt packages use
//   node scripts/build.js --debug    debug build (faster to compile, slow to run: development only)

const { spawnSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");
const { currentTarget, addonFile } = require("../lib/platform");

const PACKAGE_DIR = path.resolve(__dirname, "..");
const ADDON = path.join(PACKAGE_DIR, addonFile(currentTarget()));
const CRATE = "roomcast-node";
const LIB_NAME = "roomcast_node";

function fail(message) {
  process.stderr.write(`roomcast build: ${message}\n`);
  process.exit(1);
}

/** Where the sources are: the packaged native/ workspace, or the repository's. */
function sourceLayout() {
  const packaged = path.join(PACKAGE_DIR, "native", "Cargo.toml");
  if (fs.existsSync(packaged)) {
    // Build in a private target dir and delete it afterwards: it holds hundreds of megabytes
    // of intermediate files a user never needs.
    return { manifest: packaged, targetDir: path.join(PACKAGE_DIR, "native", "target"), cleanUp: true };
  }
  const repo = path.join(PACKAGE_DIR, "..", "Cargo.toml");
  if (fs.existsSync(repo)) return { manifest: path.join(PACKAGE_DIR, "Cargo.toml"), targetDir: null, cleanUp: false };
  fail("no Rust sources found (neither native/ in this package nor a repository checkout around it)");
}

function main() {
  const debug = process.argv.includes("--debug") || process.env.ROOMCAST_BUILD_PROFILE === "debug";
  const layout = sourceLayout();
  const cargo = process.env.CARGO || "cargo";
  const args = ["build", "-p", CRATE, "--manifest-path", layout.manifest, "--message-format=json-render-diagnostics"];
  if (!debug) args.push("--profile", "dist");
  const env = { ...process.env };
  if (layout.targetDir && !process.env.ROOMCAST_BUILD_TARGET_DIR) env.CARGO_TARGET_DIR = layout.targetDir;
  if (process.env.ROOMCAST_BUILD_TARGET_DIR) env.CARGO_TARGET_DIR = process.env.ROOMCAST_BUILD_TARGET_DIR;

  process.stderr.write(`roomcast build: compiling the native addon (${debug ? "debug" : "release"}) with cargo\n`);
  const result = spawnSync(cargo, args, {
    cwd: PACKAGE_DIR,
    env,
    stdio: ["ignore", "pipe", "inherit"],
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
  });
  if (result.error) {
    if (result.error.code === "ENOENT") {
      fail(
        `\`${cargo}\` was not found, and there is no prebuilt addon for this platform. ` +
          "Install a Rust toolchain (https://rustup.rs), then run `npm run build` in the roomcast package.",
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
  if (layout.cleanUp && env.CARGO_TARGET_DIR === layout.targetDir) {
    fs.rmSync(layout.targetDir, { recursive: true, force: true });
  }
  process.stderr.write(`roomcast build: ${path.relative(process.cwd(), ADDON) || ADDON} (${debug ? "debug" : "release"})\n`);
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
