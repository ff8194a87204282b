"use strict";

// examples/cluster/ as its README runs it: a redis-server, node_a.js (Node), python_b.py
// (Python) and emitter.py; a client on each node gets the emitter's `time` events.
// Needs redis-server and the Python binding built into ../.venv (or PYTHON).

const { before, after } = require("node:test");
const assert = require("node:assert/strict");
const { spawn, spawnSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");
const { startRedis } = require("../../tests/harness/redis");
const { startRedisCluster } = require("../../tests/harness/redis-cluster");
const h = require("./helpers");

const DIR = path.resolve(__dirname, "..", "..", "examples", "cluster");
const VENV_PYTHON = path.resolve(__dirname, "..", "..", ".venv", "bin", "python");
const PYTHON = process.env.PYTHON || (fs.existsSync(VENV_PYTHON) ? VENV_PYTHON : "python3");
const hasPythonBinding = spawnSync(PYTHON, ["-c", "import roomcast"], { stdio: "ignore" }).status === 0;

const children = [];

/** Starts a program of examples/cluster/; resolves with its URL once it prints one (or at once
 *  for `ready: null`). */
function start(command, args, env, ready = /listening on (http:\/\/\S+\/)/) {
  const child = spawn(command, args, { cwd: DIR, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let output = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (chunk) => (output += chunk));
  child.stdout.setEncoding("utf8");
  return h.within(
    new Promise((resolve, reject) => {
      child.stdout.on("data", (chunk) => {
        output += chunk;
        const match = ready.exec(output);
        if (match) resolve(match[1]);
      });
      child.once("exit", (code) => reject(new Error(`${args[0]} exited with ${code}:\n${output}`)));
    }),
    `${args[0]} to start`,
    15000,
  );
}

let redis;
before(async () => {
  if (hasPythonBinding) redis = await startRedis();
});

after(async () => {
  h.cleanup();
  await Promise.all(
    children.map((child) => {
      if (child.exitCode !== null || child.signalCode !== null) return undefined;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      const killer = setTimeout(() => child.kill("SIGKILL"), 5000);
      return exited.finally(() => clearTimeout(killer));
    }),
  );
  if (redis) await redis.stop();
});

h.test("examples/cluster: a client on each node gets the emitter's time", { skip: !hasPythonBinding && "the Python binding is not built (.venv)", timeout: 60000 }, async () => {
  const env = { REDIS_URL: redis.url, PORT: "0", HOST: "127.0.0.1" };
  const [urlA, urlB] = await Promise.all([
    start(process.execPath, ["node_a.js"], env),
    start(PYTHON, ["python_b.py"], env),
  ]);
  const onA = await h.connect(urlA.replace(/\/$/, ""));
  const onB = await h.connect(urlB.replace(/\/$/, ""));
  assert.equal(await onA.timeout(3000).emitWithAck("whoami"), "node A (Node)");
  assert.equal(await onB.timeout(3000).emitWithAck("whoami"), "node B (Python)");
  const times = [h.once(onA, "time", 20000), h.once(onB, "time", 20000)];
  await start(PYTHON, ["emitter.py"], { ...env, INTERVAL: "0.2" }, /(emitting time)/);
  for (const [time] of await Promise.all(times)) assert.match(time, /^\d\d:\d\d:\d\d$/);
});

// The same two nodes on the other adapters (ADAPTER=streams, ADAPTER=sharded on a Redis
// Cluster): a client on node A hears about a client that joined node B.
for (const adapter of ["streams", "sharded"]) {
  h.test(`examples/cluster with ADAPTER=${adapter}: a broadcast crosses the nodes`, { skip: !hasPythonBinding && "the Python binding is not built (.venv)", timeout: 60000 }, async () => {
    const backend = adapter === "sharded" ? await startRedisCluster() : await startRedis();
    try {
      const env = { REDIS_URL: backend.url, PORT: "0", HOST: "127.0.0.1", ADAPTER: adapter };
      const [urlA, urlB] = await Promise.all([
        start(process.execPath, ["node_a.js"], env),
        start(PYTHON, ["python_b.py"], env),
      ]);
      const onA = await h.connect(urlA.replace(/\/$/, ""));
      const heard = new Promise((resolve) => onA.on("joined", (text) => text.includes("node B") && resolve(text)));
      // The adapters subscribe in the background: retried until B's broadcast reaches A.
      let text;
      for (let attempt = 0; attempt < 20 && !text; attempt++) {
        await h.connect(urlB.replace(/\/$/, ""));
        text = await h.within(heard, "B's broadcast on A", 1000).catch(() => undefined);
      }
      assert.match(text || "", /joined node B \(Python\)/);
    } finally {
      for (const child of children.splice(0)) child.kill("SIGTERM");
      await backend.stop();
    }
  });
}
