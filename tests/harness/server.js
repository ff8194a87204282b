"use strict";

// Starts a scenario server of the flavour chosen by ROOMCAST_SERVER and stops it again.

const { spawn } = require("node:child_process");
const path = require("node:path");

const TESTS_DIR = path.resolve(__dirname, "..");
const REPO_DIR = path.resolve(TESTS_DIR, "..");

const START_TIMEOUT_MS = 20000;
const STOP_TIMEOUT_MS = 5000;
const STDERR_LIMIT = 256 * 1024;

const FLAVOURS = {
  reference: () => ({
    command: process.execPath,
    args: [path.join(TESTS_DIR, "servers", "reference", "server.js")],
  }),
  rust: () => {
    const targetDir = path.resolve(REPO_DIR, process.env.CARGO_TARGET_DIR || "target");
    return { command: path.join(targetDir, "debug", "roomcast-scenario-server"), args: [] };
  },
  python: () => ({
    command: process.env.PYTHON || "python3",
    args: [path.join(TESTS_DIR, "servers", "python", "server.py")],
  }),
  node: () => ({
    command: process.execPath,
    args: [path.join(TESTS_DIR, "servers", "node", "server.js")],
  }),
};

/** Servers that are running right now; their logs are printed when a test fails. */
const running = new Set();

function flavour() {
  return process.env.ROOMCAST_SERVER || "reference";
}

function commandFor(name) {
  const make = FLAVOURS[name];
  if (!make) {
    throw new Error(
      `unknown ROOMCAST_SERVER ${JSON.stringify(name)}; expected one of ${Object.keys(FLAVOURS).join(", ")}`,
    );
  }
  return make();
}

/**
 * With ROOMCAST_SERVER_CPU (a taskset CPU list, e.g. "0"), the server runs on those CPUs only
 * (scripts/stress pins it to a core that a CPU hog keeps busy). taskset execs the server, so
 * signals still reach it directly.
 */
function pinnedCommand({ command, args }) {
  const cpus = process.env.ROOMCAST_SERVER_CPU;
  if (!cpus) return { command, args };
  return { command: "taskset", args: ["-c", cpus, command, ...args] };
}

/**
 * Spawns a scenario server with PORT=0 (plus `env`) and waits for its `listening on <port>` line.
 * Resolves to {port, url, flavour, stop(), stderr(), stdout(), exited}.
 */
function startServer({ env = {}, timeoutMs = START_TIMEOUT_MS, name = flavour() } = {}) {
  const pinned = pinnedCommand(commandFor(name));
  const { command, args } = pinned;
  const debug = Boolean(process.env.DEBUG);

  const child = spawn(command, args, {
    cwd: REPO_DIR,
    env: { ...process.env, HOST: "127.0.0.1", PORT: "0", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });

  let stdout = "";
  let stderr = "";
  let exitInfo = null;
  const exited = new Promise((resolve) => {
    child.once("exit", (code, signal) => {
      exitInfo = { code, signal };
      resolve(exitInfo);
    });
  });

  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (chunk) => {
    stderr += chunk;
    if (stderr.length > STDERR_LIMIT) stderr = stderr.slice(-STDERR_LIMIT);
    if (debug) process.stderr.write(chunk);
  });
  child.stdout.setEncoding("utf8");

  const server = {
    flavour: name,
    port: undefined,
    url: undefined,
    process: child,
    exited,
    stdout: () => stdout,
    stderr: () => stderr,
    exitInfo: () => exitInfo,
    stop: () => stopServer(server),
  };

  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (message) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (!exitInfo) child.kill("SIGKILL");
      const log = stderr.trim() ? `\n--- server stderr ---\n${stderr.trim()}` : "";
      reject(new Error(`${name} scenario server: ${message}${log}`));
    };
    const timer = setTimeout(
      () => fail(`no "listening on <port>" line within ${timeoutMs} ms`),
      timeoutMs,
    );
    child.once("error", (err) => fail(`cannot start ${command}: ${err.message}`));
    exited.then(({ code, signal }) => fail(`exited before listening (code ${code}, signal ${signal})`));
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
      if (debug) process.stderr.write(`[${name} stdout] ${chunk}`);
      if (settled) return;
      const match = /^listening on (\d+)\r?$/m.exec(stdout);
      if (!match) return;
      settled = true;
      clearTimeout(timer);
      server.port = Number(match[1]);
      server.url = `http://127.0.0.1:${server.port}`;
      running.add(server);
      resolve(server);
    });
  });
}

/** SIGTERM, then SIGKILL if the process is still alive after STOP_TIMEOUT_MS. */
async function stopServer(server, timeoutMs = STOP_TIMEOUT_MS) {
  running.delete(server);
  const child = server.process;
  if (server.exitInfo()) return { ...server.exitInfo(), killed: false };
  child.kill("SIGTERM");
  let timer;
  const result = await Promise.race([
    server.exited.then((info) => ({ ...info, killed: false })),
    new Promise((resolve) => {
      timer = setTimeout(() => resolve(null), timeoutMs);
    }),
  ]);
  clearTimeout(timer);
  if (result) return result;
  child.kill("SIGKILL");
  const info = await server.exited;
  return { ...info, killed: true };
}

/** Writes the captured stderr of every running server to our stderr (used when a test fails). */
function dumpServerLogs(label) {
  for (const server of running) {
    const log = server.stderr().trim();
    if (!log) continue;
    process.stderr.write(
      `\n--- ${server.flavour} server (port ${server.port}) stderr, after failure of "${label}" ---\n` +
        `${log}\n--- end of server stderr ---\n`,
    );
  }
}

process.on("exit", () => {
  for (const server of running) {
    try {
      server.process.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
});

module.exports = { startServer, stopServer, dumpServerLogs, flavour, FLAVOURS, TESTS_DIR, REPO_DIR };
