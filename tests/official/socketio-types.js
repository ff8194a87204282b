#!/usr/bin/env node
"use strict";

// socket.io's own type tests (packages/socket.io/test/socket.io.test-d.ts of the socket.io
// repository) compiled with `tsc --strict` against roomcast's index.d.ts, with only the import
// changed, and against socket.io's own types (tests/node_modules/socket.io): each case must
// compile, or fail, as it does against socket.io. The adapter case is left out: it plugs a
// socket.io adapter class, which roomcast does not take.
//
//   node tests/official/socketio-types.js [PATH]
//
// PATH: the test file, or a socket.io checkout holding it (default $SOCKETIO_REPO). The file
// is not part of this repository; without it the check is skipped with a note.
// ROOMCAST_INSTALL_DIR: check the installed package's types instead of the tree's.

const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { spawnSync } = require("node:child_process");

const ROOT = path.resolve(__dirname, "..", "..");
const TSC = require.resolve("typescript/bin/tsc", { paths: [path.join(ROOT, "bindings-node")] });
const RELATIVE = path.join("packages", "socket.io", "test", "socket.io.test-d.ts");
// socket.io's own cases that are not about roomcast's types.
const LEFT_OUT = [/^accepts arguments of the correct types$/]; // the adapter class case

function locate() {
  const given = process.argv[2] || process.env.SOCKETIO_REPO;
  if (!given) return null;
  const file = fs.existsSync(path.join(given, RELATIVE)) ? path.join(given, RELATIVE) : given;
  return fs.existsSync(file) && fs.statSync(file).isFile() ? file : null;
}

function roomcastTypes() {
  const dir = process.env.ROOMCAST_INSTALL_DIR
    ? path.join(process.env.ROOMCAST_INSTALL_DIR, "node_modules", "roomcast")
    : path.join(ROOT, "bindings-node");
  return path.join(dir, "index.d.ts");
}

/** The `it(...)` cases of the file: name and first line. */
function casesOf(lines) {
  const cases = [];
  lines.forEach((line, i) => {
    const m = line.match(/^\s*it\(\s*"(.*?)"/);
    if (m) cases.push({ name: m[1], line: i + 1 });
  });
  return cases;
}

/** Compiles `source` in `dir`; returns the set of case indexes with an error. */
function compile(dir, name, source, cases, options) {
  fs.writeFileSync(path.join(dir, `${name}.ts`), source);
  fs.writeFileSync(
    path.join(dir, `${name}.tsconfig.json`),
    JSON.stringify({
      compilerOptions: { strict: true, noEmit: true, target: "es2022", types: ["node"], skipLibCheck: true, ...options },
      files: [`${name}.ts`, "mocha.d.ts"],
    }),
  );
  const result = spawnSync(process.execPath, [TSC, "-p", path.join(dir, `${name}.tsconfig.json`)], {
    cwd: dir,
    encoding: "utf8",
  });
  const failing = new Map();
  for (const line of result.stdout.split("\n")) {
    const m = line.match(/^[^(]*\.ts\((\d+),\d+\): (error .*)$/);
    if (!m) continue;
    let index = -1;
    cases.forEach((c, i) => {
      if (c.line <= Number(m[1])) index = i;
    });
    if (!failing.has(index)) failing.set(index, []);
    failing.get(index).push(`line ${m[1]}: ${m[2]}`);
  }
  return failing;
}

function main() {
  const file = locate();
  if (!file) {
    const note = "socket.io type tests: skipped, give a socket.io checkout as argument or SOCKETIO_REPO";
    console.log(note);
    process.exit(0);
  }
  const source = fs.readFileSync(file, "utf8");
  const cases = casesOf(source.split("\n"));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "roomcast-sio-types-"));
  try {
    // socket.io, its dependencies and @types/node from the shared test dependencies; tsd and
    // mocha only as the declarations the file uses.
    fs.symlinkSync(path.join(ROOT, "tests", "node_modules"), path.join(dir, "node_modules"), "dir");
    fs.writeFileSync(
      path.join(dir, "mocha.d.ts"),
      [
        "declare function describe(name: string, fn: () => void): void;",
        "declare function it(name: string, fn: (done: (err?: any) => void) => void): void;",
        'declare module "tsd" { export function expectType<T>(value: T): void; }',
        "",
      ].join("\n"),
    );
    const against = (from, typedEvents) =>
      source.replace(/from "\.\.\/lib\/index"/g, `from "${from}"`).replace(/from "\.\.\/lib\/typed-events"/g, `from "${typedEvents}"`);
    // socket.io's typed-events module is not in its package exports: classic resolution.
    const reference = compile(dir, "socketio", against("socket.io", "socket.io/dist/typed-events"), cases, {
      module: "commonjs",
      moduleResolution: "node10",
    });
    const ours = compile(dir, "roomcast", against("roomcast", "roomcast"), cases, {
      module: "node16",
      moduleResolution: "node16",
      paths: { roomcast: [roomcastTypes()] },
    });
    if (reference.has(-1) || ours.has(-1)) {
      console.log("errors outside the cases (imports?):", reference.get(-1), ours.get(-1));
      process.exit(1);
    }
    let same = 0;
    let checked = 0;
    cases.forEach((c, i) => {
      if (LEFT_OUT.some((re) => re.test(c.name))) {
        console.log(`  left out   ${c.name}`);
        return;
      }
      checked += 1;
      const theirs = reference.has(i) ? "fails" : "compiles";
      const mine = ours.has(i) ? "fails" : "compiles";
      if (theirs === mine) same += 1;
      console.log(`  ${theirs === mine ? "same     " : "DIFFERENT"}  ${c.name} (socket.io: ${theirs}, roomcast: ${mine})`);
      if (theirs !== mine) for (const e of ours.get(i) || reference.get(i)) console.log(`      ${e}`);
    });
    console.log(`socket.io type tests: ${same} of ${checked} cases as against socket.io (${cases.length - checked} left out)`);
    process.exit(same === checked ? 0 : 1);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main();
