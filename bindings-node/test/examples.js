"use strict";

// Runs a program of examples/node/ as a user would (require("roomcast")), without installing
// anything: NODE_PATH points at a directory whose `roomcast` links to this package, then at
// this package's node_modules (express, socket.io-client).

const { spawn } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");

const PACKAGE_DIR = path.resolve(__dirname, "..");
const EXAMPLES_DIR = path.resolve(PACKAGE_DIR, "..", "examples", "node");

let modulesDir;
function nodePath() {
  if (!modulesDir) {
    modulesDir = fs.mkdtempSync(path.join(os.tmpdir(), "roomcast-examples-"));
    // ROOMCAST_INSTALL_DIR: run the examples against the installed npm package instead.
    const installed = process.env.ROOMCAST_INSTALL_DIR;
    const pkg = installed ? path.join(path.resolve(installed), "node_modules", "roomcast") : PACKAGE_DIR;
    fs.symlinkSync(pkg, path.join(modulesDir, "roomcast"), "dir");
  }
  return [modulesDir, path.join(PACKAGE_DIR, "node_modules")].join(path.delimiter);
}

/** Starts examples/node/<file> on a free port; resolves with {url, stop(), output()}. */
function startExample(file, env = {}) {
  const child = spawn(process.execPath, [path.join(EXAMPLES_DIR, file)], {
    cwd: EXAMPLES_DIR,
    env: { ...process.env, PORT: "0", HOST: "127.0.0.1", NODE_PATH: nodePath(), ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${file} did not start within 10 s:\n${output}`));
    }, 10000);
    let started = false;
    child.stdout.setEncoding("utf8");
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk) => (output += chunk));
    child.stdout.on("data", (chunk) => {
      output += chunk;
      const match = !started && /listening on (http:\/\/[^\s/]+\/)/.exec(output);
      if (!match) return;
      started = true;
      clearTimeout(timer);
      resolve({
        url: match[1],
        output: () => output,
        async stop() {
          child.kill("SIGTERM");
          const killer = setTimeout(() => child.kill("SIGKILL"), 5000);
          const result = await exited;
          clearTimeout(killer);
          return result;
        },
      });
    });
    exited.then(({ code }) => {
      if (started) return;
      clearTimeout(timer);
      reject(new Error(`${file} exited with ${code} before listening:\n${output}`));
    });
  });
}

module.exports = { startExample, EXAMPLES_DIR, PACKAGE_DIR };
