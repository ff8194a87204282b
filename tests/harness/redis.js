"use strict";

// A throwaway redis-server on a free loopback port, for the cluster suite.

const { spawn } = require("node:child_process");
const net = require("node:net");

const START_TIMEOUT_MS = 10000;

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function spawnRedis(port) {
  const child = spawn(
    process.env.REDIS_SERVER || "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "no"],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  const exited = new Promise((resolve) => child.once("exit", resolve));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`redis-server did not start on ${port}: ${output}`));
    }, START_TIMEOUT_MS);
    child.once("error", (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot start redis-server (install it, e.g. apt-get install redis-server): ${err.message}`));
    });
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk) => {
      output += chunk;
      if (/Ready to accept connections/i.test(output)) {
        clearTimeout(timer);
        resolve({ child, exited });
      }
    });
  });
}

/** Starts redis-server; resolves to {url, port, stop(), restart()}. */
async function startRedis() {
  const port = await freePort();
  let current = await spawnRedis(port);
  const stop = async () => {
    if (!current) return;
    const { child, exited } = current;
    current = null;
    child.kill("SIGKILL");
    await exited;
  };
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    stop,
    /** Kills the server (no clean shutdown, like a crash) and starts a new one on the same port. */
    async restart() {
      await stop();
      current = await spawnRedis(port);
    },
  };
}

module.exports = { startRedis };
