#!/usr/bin/env node
"use strict";

// npm's install hook. A user normally gets the addon from the prebuilt package of their
// platform (an optional dependency), and nothing is built. Only where none exists — a platform
// without a prebuilt package, or optional dependencies turned off — is the addon compiled from
// the sources the package carries (a release build; it needs a Rust toolchain).
//
// ROOMCAST_SKIP_BUILD=1 skips the build (the addon comes from elsewhere, e.g. ROOMCAST_NATIVE).

const fs = require("node:fs");
const path = require("node:path");
const { currentTarget, addonFile, packageName } = require("../lib/platform");

function prebuiltInstalled(target) {
  if (!target) return false;
  try {
    require.resolve(packageName(target), { paths: [path.join(__dirname, "..")] });
    return true;
  } catch {
    return false;
  }
}

function main() {
  if (process.env.ROOMCAST_SKIP_BUILD === "1") return;
  const target = currentTarget();
  if (prebuiltInstalled(target)) return;
  if (fs.existsSync(path.join(__dirname, "..", addonFile(target)))) return;
  process.stderr.write(
    `roomcast: no prebuilt addon for ${target || `${process.platform}-${process.arch}`}; building it from source\n`,
  );
  require("./build.js");
}

main();
