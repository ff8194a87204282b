"use strict";

// Loads the native addon built by scripts/build.js (cargo + a copy next to index.js).

const path = require("node:path");

const FILE = `roomcast.${process.platform}-${process.arch}.node`;

function load() {
  const file = process.env.ROOMCAST_NATIVE || path.join(__dirname, "..", FILE);
  try {
    return require(file);
  } catch (err) {
    const hint =
      err && err.code === "MODULE_NOT_FOUND"
        ? "it has not been built for this platform yet"
        : `it failed to load: ${err && err.message}`;
    throw new Error(
      `roomcast: cannot load its native addon ${file} (${hint}). ` +
        "Build it with `npm run build` in the roomcast package directory (bindings-node/); " +
        "that needs a Rust toolchain (https://rustup.rs).",
    );
  }
}

module.exports = load();
module.exports.ADDON_FILE = FILE;
