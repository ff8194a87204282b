#!/usr/bin/env node
"use strict";

// The cost of the extra hop without sticky sessions: long-polling round trips (an event with
// an ack POSTed, its answer taken by a GET) to the node that holds the session, against the
// same round trips sent to another node, which hands each request to the owner.
//
//   cargo build --release -p roomcast-scenario-server
//   node bench/no-sticky.js [--clients 20] [--seconds 10] [--reps 3]
//
// Needs redis-server on PATH. Two release scenario servers with ROUTE_SESSIONS=1 share a
// throwaway Redis; each client opens its session on node A, then sends everything either to
// A (direct) or to B (forwarded). Prints round trips per second and latency percentiles.

const { spawn } = require("node:child_process");
const http = require("node:http");
const path = require("node:path");
const { freePort } = require("../tests/harness/ports");

const ROOT = path.resolve(__dirname, "..");
const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const CLIENTS = opt("clients", 20);
const SECONDS = opt("seconds", 10);
const REPS = opt("reps", 3);


function start(command, argv, env, ready) {
  const child = spawn(command, argv, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`${command} did not start: ${out}`)), 20000);
    const onData = (chunk) => {
      out += chunk;
      const m = ready.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, match: m });
      }
    };
    child.stdout.setEncoding("utf8").on("data", onData);
    child.stderr.setEncoding("utf8").on("data", (c) => (out += c));
    child.once("exit", (code) => reject(new Error(`${command} exited (${code}): ${out}`)));
  });
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
function request(port, method, p, body) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, method, path: p, agent, headers: body ? { "content-type": "text/plain;charset=UTF-8" } : {} }, (res) => {
      let data = "";
      res.setEncoding("utf8");
      res.on("data", (c) => (data += c));
      res.on("end", () => resolve(data));
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** One client: a session on `owner`, then ack round trips through `via` until `deadline`. */
async function client(owner, via, deadline, latencies) {
  const open = await request(owner, "GET", "/socket.io/?EIO=4&transport=polling");
  const { sid } = JSON.parse(open.slice(1));
  const q = `/socket.io/?EIO=4&transport=polling&sid=${encodeURIComponent(sid)}`;
  await request(via, "POST", q, "40");
  await request(via, "GET", q); // the CONNECT reply
  let id = 0;
  let count = 0;
  while (Date.now() < deadline) {
    const t0 = process.hrtime.bigint();
    const answer = request(via, "GET", q);
    await request(via, "POST", q, `42${id}["echo","x"]`);
    const body = await answer;
    if (!body.startsWith(`43${id}`)) throw new Error(`unexpected answer ${body.slice(0, 40)}`);
    latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
    id++;
    count++;
  }
  return count;
}

async function measure(owner, via) {
  const latencies = [];
  const deadline = Date.now() + SECONDS * 1000;
  const counts = await Promise.all(Array.from({ length: CLIENTS }, () => client(owner, via, deadline, latencies)));
  latencies.sort((a, b) => a - b);
  const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))];
  const total = counts.reduce((a, b) => a + b, 0);
  return { perSecond: total / SECONDS, p50: pct(50), p99: pct(99) };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

(async () => {
  const redisPort = await freePort();
  const redis = await start("redis-server", ["--port", String(redisPort), "--save", "", "--appendonly", "no"], {}, /Ready to accept/);
  const server = path.join(process.env.CARGO_TARGET_DIR || path.join(ROOT, "target"), "release", "roomcast-scenario-server");
  const env = { HOST: "127.0.0.1", PORT: "0", REDIS_URL: `redis://127.0.0.1:${redisPort}`, ROUTE_SESSIONS: "1" };
  const nodes = [];
  try {
    for (const cpu of ["0", "0"]) {
      nodes.push(await start("taskset", ["-c", cpu, server], env, /listening on (\d+)/));
    }
    const [a, b] = nodes.map((n) => Number(n.match[1]));
    const rows = { direct: [], forwarded: [] };
    for (let rep = 0; rep < REPS; rep++) {
      rows.direct.push(await measure(a, a));
      rows.forwarded.push(await measure(a, b));
    }
    console.log(`long-polling ack round trips, ${CLIENTS} clients × ${SECONDS} s, medians of ${REPS} (both nodes on CPU 0, this client on the other)`);
    console.log("| requests go to | round trips/s | p50 ms | p99 ms |");
    console.log("|---|---:|---:|---:|");
    for (const [name, runs] of Object.entries(rows)) {
      const m = (k) => median(runs.map((r) => r[k]));
      console.log(`| ${name === "direct" ? "the node that holds the session" : "another node (one hop to the owner)"} | ${Math.round(m("perSecond"))} | ${m("p50").toFixed(2)} | ${m("p99").toFixed(2)} |`);
    }
  } finally {
    agent.destroy();
    for (const n of nodes) n.child.kill("SIGTERM");
    redis.child.kill("SIGTERM");
  }
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
