"use strict";

// Loads the native addon, in this order:
//   1. ROOMCAST_NATIVE, a path to an addon file (for debugging a build of one's own);
//   2. the prebuilt platform package (`@roomcast/linux-x64-gnu`, …), an optional dependency
//      of the published package, so a user needs no Rust toolchain;
//   3. the file a source build leaves beside index.js (`roomcast.linux-x64-gnu.node`): the
//      install script's fallback where no prebuilt package exists, and a repository checkout.

const path = require("node:path");
const { currentTarget, addonFile, packageName } = require("./platform");

const TARGET = currentTarget();
const FILE = addonFile(TARGET);

function candidates() {
  const list = [];
  if (process.env.ROOMCAST_NATIVE) list.push({ what: "ROOMCAST_NATIVE", id: path.resolve(process.env.ROOMCAST_NATIVE) });
  if (TARGET) list.push({ what: "prebuilt package", id: packageName(TARGET) });
  list.push({ what: "source build", id: path.join(__dirname, "..", FILE) });
  return list;
}

function load() {
  const tried = [];
  for (const { what, id } of candidates()) {
    try {
      const addon = require(id);
      return { addon, from: require.resolve(id) };
    } catch (err) {
      const missing = err && err.code === "MODULE_NOT_FOUND" && String(err.message).includes(id);
      if (!missing) {
        throw new Error(`roomcast: its native addon ${id} (${what}) failed to load: ${err && err.message}`);
      }
      tried.push(`${id} (${what})`);
    }
  }
  throw new Error(
    `roomcast: no native addon for ${TARGET || `${process.platform}-${process.arch}`}; tried ${tried.join(", ")}. ` +
      (TARGET
        ? `Reinstall with optional dependencies enabled (npm install roomcast installs ${packageName(TARGET)}), ` +
          "or build from source with `npm run build` in the roomcast package (needs Rust: https://rustup.rs)."
        : "No prebuilt package exists for this platform: build from source with `npm run build` in the " +
          "roomcast package (needs Rust: https://rustup.rs)."),
  );
}

const { addon, from } = load();
module.exports = addon;
module.exports.ADDON_FILE = FILE;
module.exports.ADDON_PATH = from;
