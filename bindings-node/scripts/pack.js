#!/usr/bin/env node
"use strict";

// Packs what `npm publish` would publish, the napi-rs way:
//   - roomcast-<version>.tgz: the JavaScript package, with the prebuilt platform packages as
//     optional dependencies and the Rust sources (native/: the core, this binding's crate and
//     the workspace's Cargo.lock) for the install script's source-build fallback;
//   - roomcast-<target>-<version>.tgz: `@roomcast/<target>`, the addon built for this machine.
//
//   node bindings-node/scripts/pack.js --addon PATH --out DIR [--target T] [--platform-only]
//
// --target names the addon's target when it was built for another one (a release job per
// platform; lib/platform.js lists them); --platform-only packs only `@roomcast/<target>`.
//
// The version comes from the Cargo workspace (the one place it is set).

const { execFileSync } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { currentTarget, addonFile, packageName, RELEASE_TARGETS } = require("../lib/platform");

const PACKAGE_DIR = path.resolve(__dirname, "..");
const REPO = path.resolve(PACKAGE_DIR, "..");

function fail(message) {
  process.stderr.write(`pack: ${message}\n`);
  process.exit(1);
}

function option(name, fallback) {
  const i = process.argv.indexOf(name);
  if (i < 0 || i + 1 >= process.argv.length) {
    if (fallback !== undefined) return fallback;
    fail(`missing ${name}`);
  }
  return process.argv[i + 1];
}

function workspaceVersion() {
  const meta = JSON.parse(
    execFileSync("cargo", ["metadata", "--no-deps", "--format-version", "1", "--manifest-path", path.join(REPO, "Cargo.toml")], {
      encoding: "utf8",
      maxBuffer: 64 * 1024 * 1024,
    }),
  );
  const core = meta.packages.find((p) => p.name === "roomcast");
  if (!core) fail("the workspace has no `roomcast` crate");
  return core.version;
}

function copy(from, to) {
  fs.cpSync(from, to, { recursive: true, filter: (src) => !/(^|\/)(target|node_modules)$/.test(src) });
}

/** The library crates the addon is built from, lowest layer first. */
const NATIVE_CRATES = ["protocol", "engineio", "core", "redis"];

/** The repository's workspace manifest, narrowed to the crates the addon needs. */
function nativeWorkspaceManifest() {
  const text = fs.readFileSync(path.join(REPO, "Cargo.toml"), "utf8");
  const start = text.indexOf("[workspace]\n");
  const next = text.indexOf("\n[", start + 1);
  if (start < 0 || next < 0) fail("cannot find the [workspace] table of Cargo.toml");
  const header =
    "# The sources of roomcast's native addon, for a build where no prebuilt package fits.\n" +
    `[workspace]\nresolver = "2"\nmembers = [${[...NATIVE_CRATES, "bindings-node"].map((c) => `"${c}"`).join(", ")}]\n`;
  return text.slice(0, start) + header + text.slice(next);
}

function stageNative(dir) {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "Cargo.toml"), nativeWorkspaceManifest());
  fs.copyFileSync(path.join(REPO, "Cargo.lock"), path.join(dir, "Cargo.lock"));
  for (const crate of NATIVE_CRATES) {
    fs.mkdirSync(path.join(dir, crate));
    for (const entry of ["Cargo.toml", "README.md", "src", "benches"]) {
      const from = path.join(REPO, crate, entry);
      if (fs.existsSync(from)) copy(from, path.join(dir, crate, entry));
    }
  }
  fs.mkdirSync(path.join(dir, "bindings-node"));
  for (const entry of ["Cargo.toml", "build.rs", "src"]) {
    copy(path.join(PACKAGE_DIR, entry), path.join(dir, "bindings-node", entry));
  }
  // Drops the lock entries of crates only the rest of the repository uses; the versions of
  // those the addon needs stay exactly as tested.
  execFileSync("cargo", ["metadata", "--offline", "--format-version", "1", "--manifest-path", path.join(dir, "Cargo.toml")], {
    stdio: ["ignore", "ignore", "inherit"],
    maxBuffer: 64 * 1024 * 1024,
  });
}

function npmPack(dir, out) {
  const name = execFileSync("npm", ["pack", "--silent", "--pack-destination", out], { cwd: dir, encoding: "utf8" })
    .trim()
    .split("\n")
    .pop();
  return path.join(out, name);
}

function packMain(stage, out, version) {
  const dir = path.join(stage, "roomcast");
  fs.mkdirSync(dir, { recursive: true });
  const pkg = JSON.parse(fs.readFileSync(path.join(PACKAGE_DIR, "package.json"), "utf8"));
  for (const file of pkg.files) {
    const from = path.join(PACKAGE_DIR, file);
    if (!fs.existsSync(from)) {
      if (file === "LICENSE") continue;
      fail(`package.json lists ${file}, which does not exist`);
    }
    copy(from, path.join(dir, file));
  }
  copy(path.join(REPO, "LICENSE"), path.join(dir, "LICENSE"));
  stageNative(path.join(dir, "native"));
  pkg.version = version;
  pkg.files = [...pkg.files, "native/"];
  pkg.optionalDependencies = Object.fromEntries(RELEASE_TARGETS.map((t) => [packageName(t), version]));
  delete pkg.devDependencies;
  pkg.scripts = { install: pkg.scripts.install, build: pkg.scripts.build };
  fs.writeFileSync(path.join(dir, "package.json"), `${JSON.stringify(pkg, null, 2)}\n`);
  return npmPack(dir, out);
}

function packPlatform(stage, out, version, target, addon) {
  const dir = path.join(stage, target);
  fs.mkdirSync(dir, { recursive: true });
  const file = addonFile(target);
  fs.copyFileSync(addon, path.join(dir, file));
  copy(path.join(REPO, "LICENSE"), path.join(dir, "LICENSE"));
  const [platform, arch, abi] = target.split("-");
  const pkg = {
    name: packageName(target),
    version,
    description: `The native addon of roomcast for ${target}; installed by the roomcast package.`,
    license: "MIT",
    repository: JSON.parse(fs.readFileSync(path.join(PACKAGE_DIR, "package.json"), "utf8")).repository,
    main: file,
    files: [file, "LICENSE"],
    os: [platform],
    cpu: [arch],
    ...(abi === "gnu" || abi === "musl" ? { libc: [abi === "gnu" ? "glibc" : "musl"] } : {}),
    engines: { node: ">=18.18" },
  };
  fs.writeFileSync(path.join(dir, "package.json"), `${JSON.stringify(pkg, null, 2)}\n`);
  fs.writeFileSync(path.join(dir, "README.md"), `# ${pkg.name}\n\n${pkg.description}\n`);
  return npmPack(dir, out);
}

function main() {
  const addon = path.resolve(option("--addon"));
  const out = path.resolve(option("--out"));
  if (!fs.existsSync(addon)) fail(`no addon at ${addon}`);
  const target = option("--target", currentTarget());
  if (!target) fail(`no target name for ${process.platform}-${process.arch}: pass --target`);
  if (!RELEASE_TARGETS.includes(target)) fail(`unknown target ${target} (one of ${RELEASE_TARGETS.join(", ")})`);
  const version = workspaceVersion();
  const declared = JSON.parse(fs.readFileSync(path.join(PACKAGE_DIR, "package.json"), "utf8")).version;
  if (declared !== version) {
    fail(`bindings-node/package.json says ${declared}, the Cargo workspace ${version}: run scripts/set-version ${version}`);
  }
  fs.mkdirSync(out, { recursive: true });
  const stage = fs.mkdtempSync(path.join(os.tmpdir(), "roomcast-pack-"));
  try {
    if (!process.argv.includes("--platform-only")) process.stdout.write(`${packMain(stage, out, version)}\n`);
    process.stdout.write(`${packPlatform(stage, out, version, target, addon)}\n`);
  } finally {
    fs.rmSync(stage, { recursive: true, force: true });
  }
}

main();
