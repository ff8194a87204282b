"use strict";

// The napi-rs naming of a build target: `<platform>-<arch>[-<abi>]`, e.g. linux-x64-gnu. It names
// the prebuilt package (`@roomcast/linux-x64-gnu`) and the addon file a source build leaves in
// the package (`roomcast.linux-x64-gnu.node`), so the loader, the install script and the pack
// script agree on one name.

const PACKAGE_SCOPE = "@roomcast";

/** Whether this Linux process runs on musl rather than glibc. */
function isMusl() {
  if (process.platform !== "linux") return false;
  try {
    // Node's report names the glibc it runs on; musl builds have no such field.
    const header = process.report && process.report.getReport().header;
    return !(header && header.glibcVersionRuntime);
  } catch {
    return false;
  }
}

/** The target triple of this process, or null for a platform no build is described for. */
function currentTarget() {
  const { platform, arch } = process;
  if (platform === "linux" && (arch === "x64" || arch === "arm64")) {
    return `linux-${arch}-${isMusl() ? "musl" : "gnu"}`;
  }
  if (platform === "darwin" && (arch === "x64" || arch === "arm64")) return `darwin-${arch}`;
  if (platform === "win32" && arch === "x64") return "win32-x64-msvc";
  return null;
}

/** Every target a release publishes a prebuilt package for (see the release workflow). */
const RELEASE_TARGETS = [
  "linux-x64-gnu",
  "linux-arm64-gnu",
  "linux-x64-musl",
  "linux-arm64-musl",
  "darwin-x64",
  "darwin-arm64",
  "win32-x64-msvc",
];

/** The addon file name for a target; a target-less fallback for unlisted platforms. */
function addonFile(target) {
  return `roomcast.${target || `${process.platform}-${process.arch}`}.node`;
}

function packageName(target) {
  return `${PACKAGE_SCOPE}/${target}`;
}

module.exports = { currentTarget, addonFile, packageName, RELEASE_TARGETS, PACKAGE_SCOPE };
