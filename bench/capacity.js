#!/usr/bin/env node
"use strict";

// Cluster capacity: N roomcast nodes (release bench servers, bench/servers/roomcast-rust) on
// one machine behind one round-robin TCP proxy port (bench/proxy.js, K worker processes), a
// throwaway Redis, and L load generator processes (bench/loadgen) holding C WebSocket
// connections in total, all in one room. Every process stays under the per-process file limit:
// that is why the servers, the proxy and the clients are each several processes.
//
//   cargo build --release -p roomcast-bench-server -p roomcast-loadgen
//   node bench/capacity.js [--connections 100000] [--messages 20] [--adapter pubsub[,streams]]
//
// Per adapter, one run:
//   1. the clients connect and join room `bench` (through the proxy, so spread over the nodes);
//   2. they are held for --hold-secs (default: two heartbeat cycles, pingInterval + pingTimeout,
//      plus 5 s), answering the servers' pings; connections broken meanwhile are counted;
//   3. one control client sends a warm-up trigger (20 events, not measured), and once every
//      client had those, one `fanout` trigger through the proxy (so to one node), which emits
//      M events to the room through the Redis adapter; every client counts its deliveries
//      (lost, duplicated, arrival times from the trigger).
// Reports the RSS of every process (servers before connecting, after, after the hold; proxy;
// load generators; Redis), memory per connection on the servers, pongs, deliveries/s and the
// arrival percentiles. Writes bench/results/capacity.md and capacity.json (--out to change).
//
// Options: --connections C, --servers N (default: C/15000 rounded up), --proxy-workers K
// (default: 2C/15000 rounded up: two descriptors per proxied connection), --loadgens L
// (default: C/15000 rounded up), --messages M (20), --adapter pubsub|streams|pubsub,streams,
// --ping-interval MS (25000), --ping-timeout MS (20000: socket.io's defaults), --hold-secs S,
// --sources S (the load generators' loopback source addresses 127.1.<run>.1..S, default
// C/10000 rounded up: one address has ~28k ephemeral ports towards the proxy, and binding gets
// slow as they fill up; the proxy's workers connect to the nodes from 127.2.<run>.<worker>,
// for the same reason; each run uses fresh addresses, as the last one's ports sit in
// TIME_WAIT), --concurrency (connections in flight per load
// generator, 200), --out PATH (without extension).

const { spawn, execFileSync } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const readline = require("node:readline");
const { freePort } = require("../tests/harness/ports");

const ROOT = path.resolve(__dirname, "..");
const TARGET = path.join(process.env.CARGO_TARGET_DIR || path.join(ROOT, "target"), "release");
const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const num = (name, fallback) => Number(opt(name, fallback));

const CONNECTIONS = num("connections", 100000);
const PER_PROCESS = 15000;
const SERVERS = num("servers", Math.ceil(CONNECTIONS / PER_PROCESS));
const PROXY_WORKERS = num("proxy-workers", Math.ceil((2 * CONNECTIONS) / PER_PROCESS));
const LOADGENS = num("loadgens", Math.ceil(CONNECTIONS / PER_PROCESS));
const MESSAGES = num("messages", 20);
const ADAPTERS = String(opt("adapter", "pubsub")).split(",");
const PING_INTERVAL = num("ping-interval", 25000);
const PING_TIMEOUT = num("ping-timeout", 20000);
const HOLD_SECS = num("hold-secs", (2 * (PING_INTERVAL + PING_TIMEOUT)) / 1000 + 5);
const SOURCES = num("sources", Math.max(2, Math.ceil(CONNECTIONS / 10000)));
const CONCURRENCY = num("concurrency", 200);
const OUT = opt("out", path.join(__dirname, "results", "capacity"));

const children = new Set();


/** Spawns a process and resolves once `ready` matches its output (bounded). */
function start(command, argv, env, ready, timeoutMs = 30000) {
  const child = spawn(command, argv, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  children.add(child);
  child.once("exit", () => children.delete(child));
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`${command} did not start: ${out}`)), timeoutMs);
    const onData = (chunk) => {
      out += chunk;
      const m = ready.exec(out);
      if (m) {
        clearTimeout(timer);
        child.stdout.removeListener("data", onData);
        resolve({ child, match: m });
      }
    };
    child.stdout.setEncoding("utf8").on("data", onData);
    child.stderr.setEncoding("utf8").on("data", (c) => (out += c));
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${command} exited (${code}): ${out}`));
    });
  });
}

function status(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (k) => Number((new RegExp(`^${k}:\\s+(\\d+)`, "m").exec(s) || [])[1] || 0);
    return { rssKb: kb("VmRSS"), hwmKb: kb("VmHWM") };
  } catch {
    return { rssKb: 0, hwmKb: 0 };
  }
}

const lastCpu = new Map();
/** User + system CPU seconds of `pid`; the last value read once it has exited. */
function cpuSeconds(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    lastCpu.set(pid, (Number(f[11]) + Number(f[12])) / 100);
  } catch {}
  return lastCpu.get(pid) || 0;
}

function childPids(pid) {
  try {
    return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** A throwaway Redis on a free port (another port if that one was taken meanwhile). */
async function startRedis() {
  for (let attempt = 1; ; attempt++) {
    const redisPort = await freePort();
    try {
      const redis = await start("redis-server", ["--port", String(redisPort), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {}, /Ready to accept/);
      return { redis, redisPort };
    } catch (e) {
      if (attempt >= 5 || !/Address already in use/.test(e.message)) throw e;
    }
  }
}

/** CPU seconds used so far by each group of processes. */
function cpuOf(groups) {
  return Object.fromEntries(Object.entries(groups).map(([k, pids]) => [k, sum(pids.map(cpuSeconds))]));
}
const cpuSince = (a, b, secs) => Object.fromEntries(Object.keys(a).map((k) => [k, Number(((b[k] - a[k]) / secs).toFixed(2))]));

/** SIGTERM, then SIGKILL after 10 s; resolves once every one has exited. */
function stop(procs) {
  return Promise.all(procs.map((c) => new Promise((resolve) => {
    if (c.exitCode !== null || c.signalCode !== null) return resolve();
    const timer = setTimeout(() => c.kill("SIGKILL"), 10000);
    c.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    c.kill("SIGTERM");
  })));
}

const sum = (xs) => xs.reduce((a, b) => a + b, 0);
const mib = (kb) => (kb / 1024).toFixed(0);
const until = (ms) => new Promise((r) => setTimeout(r, ms));

/** A load generator process running `fanout --go-stdin`; tracks its stderr protocol. */
function startLoadgen(i, port, clients, sources) {
  const argv = [
    "fanout", "--port", String(port), "--clients", String(clients), "--messages", String(MESSAGES),
    "--go-stdin", "--threads", "1", "--concurrency", String(CONCURRENCY), "--read-buf", "4096",
    "--connect-timeout", "60", "--setup-timeout", "1200", "--timeout", "600", "--max-secs", "3000",
    "--source-addrs", sources.join(","), "--label", `lg${i}`,
  ];
  const child = spawn(path.join(TARGET, "roomcast-loadgen"), argv, { stdio: ["pipe", "pipe", "pipe"] });
  children.add(child);
  const lg = { child, ready: null, triggered: null, result: null, progress: "", joined: 0, log: [] };
  let stdout = "";
  child.stdout.setEncoding("utf8").on("data", (c) => (stdout += c));
  // "close", not "exit": the last stdout chunk may come after the exit.
  const exited = new Promise((resolve) => child.once("close", (code) => {
    children.delete(child);
    try {
      lg.result = JSON.parse(stdout.trim().split("\n").pop());
    } catch {
      lg.result = { ok: false, error: `no result (exit ${code})`, log: lg.log.slice(-5) };
    }
    resolve();
  }));
  lg.exited = exited;
  let onReady;
  let onTriggered;
  let onCounted;
  let onWarmed;
  lg.warmed = new Promise((r) => (onWarmed = r));
  lg.ready = new Promise((r) => (onReady = r));
  lg.triggered = new Promise((r) => (onTriggered = r));
  // Its deliveries are counted (before it closes its sockets and exits).
  lg.counted = new Promise((r) => (onCounted = r));
  readline.createInterface({ input: child.stderr }).on("line", (line) => {
    lg.log.push(line);
    if (lg.log.length > 50) lg.log.shift();
    let m;
    if ((m = /setup: (\d+) connected, (\d+) failed/.exec(line))) lg.progress = `${m[1]}/${m[2]}`, (lg.joined = Number(m[1]));
    else if ((m = /fanout: (\d+)\/(\d+) clients joined/.exec(line))) lg.joined = Number(m[1]);
    else if (line === "ready") onReady();
    else if (line === "warmed") onWarmed();
    else if ((m = /^triggered (\d+)/.exec(line))) onTriggered(m[1]);
    else if (/^fanout: \d+\/\d+ deliveries/.test(line)) onCounted();
  });
  exited.then(() => {
    onReady();
    onTriggered(null);
    onCounted();
    onWarmed();
  });
  return lg;
}

/** Merges `[[ms, count], ...]` histograms and reads percentiles off them. */
function percentiles(hists) {
  const buckets = new Map();
  for (const h of hists) for (const [ms, n] of h || []) buckets.set(ms, (buckets.get(ms) || 0) + n);
  const sorted = [...buckets.entries()].sort((a, b) => a[0] - b[0]);
  const total = sum(sorted.map(([, n]) => n));
  const at = (q) => {
    let seen = 0;
    for (const [ms, n] of sorted) {
      seen += n;
      if (seen >= q * total) return ms;
    }
    return null;
  };
  return { count: total, p50Ms: at(0.5), p99Ms: at(0.99), maxMs: sorted.length ? sorted[sorted.length - 1][0] : null };
}

async function run(adapter, runIndex) {
  const log = (msg) => console.error(`[capacity ${adapter}] ${msg}`);
  const { redis, redisPort } = await startRedis();
  const env = {
    HOST: "127.0.0.1", PORT: "0", REDIS_URL: `redis://127.0.0.1:${redisPort}`, REDIS_ADAPTER: adapter,
    PING_INTERVAL: String(PING_INTERVAL), PING_TIMEOUT: String(PING_TIMEOUT),
  };
  const servers = [];
  for (let i = 0; i < SERVERS; i++) servers.push(await start(path.join(TARGET, "roomcast-bench-server"), [], env, /listening on (\d+)/));
  const ports = servers.map((s) => Number(s.match[1]));
  const proxySources = Array.from({ length: PROXY_WORKERS }, (_, i) => `127.2.${runIndex}.${i + 1}`);
  const proxy = await start(process.execPath, [path.join(__dirname, "proxy.js"), "--backends", ports.join(","), "--workers", String(PROXY_WORKERS), "--sources", proxySources.join(",")], {}, /listening on (\d+)/);
  const proxyPort = Number(proxy.match[1]);
  const proxyPids = [proxy.child.pid, ...childPids(proxy.child.pid)];
  log(`redis :${redisPort}, ${SERVERS} servers ${ports.join(",")}, proxy :${proxyPort} (${PROXY_WORKERS} workers)`);

  const serverPids = servers.map((s) => s.child.pid);
  const before = serverPids.map((p) => status(p).rssKb);
  const sources = Array.from({ length: SOURCES }, (_, i) => `127.1.${runIndex}.${i + 1}`);
  const share = (i) => Math.floor(CONNECTIONS / LOADGENS) + (i < CONNECTIONS % LOADGENS ? 1 : 0);
  const connectStart = Date.now();
  const lgs = Array.from({ length: LOADGENS }, (_, i) => startLoadgen(i, proxyPort, share(i), sources));
  const groups = {
    servers: serverPids, proxyPrimary: [proxy.child.pid], proxyWorkers: proxyPids.slice(1),
    loadgens: lgs.map((l) => l.child.pid), redis: [redis.child.pid],
  };
  const cpuConnect0 = cpuOf(groups);
  const progress = setInterval(() => log(`joined ${sum(lgs.map((l) => l.joined))}/${CONNECTIONS}`), 5000);
  await Promise.all(lgs.map((l) => l.ready));
  clearInterval(progress);
  const connectSecs = (Date.now() - connectStart) / 1000;
  const connectCpu = cpuSince(cpuConnect0, cpuOf(groups), connectSecs);
  const joined = sum(lgs.map((l) => l.joined));
  const connected = serverPids.map((p) => status(p).rssKb);
  log(`${joined} joined in ${connectSecs.toFixed(1)} s; holding ${HOLD_SECS} s`);

  // The hold is the measurement: connections must survive two heartbeat cycles.
  const cpuHold0 = cpuOf(groups);
  await until(HOLD_SECS * 1000);
  const holdCpu = cpuSince(cpuHold0, cpuOf(groups), HOLD_SECS);
  const held = serverPids.map((p) => status(p).rssKb);
  const proxyMem = proxyPids.map((p) => status(p).rssKb);
  const lgMem = lgs.map((l) => status(l.child.pid).rssKb);
  const redisMem = status(redis.child.pid).rssKb;
  const perBackend = await proxyCounts(proxy.child, ports.length);

  log("fan-out");
  const goAt = Date.now();
  const [first, ...rest] = lgs;
  // A warm-up round (20 events) first; the measured trigger once every client had it.
  first.child.stdin.write("warm\n");
  await Promise.all(lgs.map((l) => l.warmed));
  first.child.stdin.write("go\n");
  const t0 = await first.triggered;
  const cpuFan0 = cpuOf(groups);
  const triggeredAt = Date.now();
  // Sampled every 250 ms: the load generators close their sockets once they counted, which
  // costs the nodes and the proxy CPU that is not the fan-out's, so the window ends at the
  // last arrival.
  const samples = [];
  const sampler = setInterval(() => samples.push({ at: Date.now(), cpu: cpuOf(groups) }), 250);
  for (const l of rest) l.child.stdin.write(t0 ? `wait ${t0}\n` : "abort\n");
  await Promise.all(lgs.map((l) => l.counted));
  clearInterval(sampler);
  const fanWall = (Date.now() - goAt) / 1000;
  await Promise.all(lgs.map((l) => l.exited));
  const after = serverPids.map((p) => status(p));

  await stop([proxy.child, ...servers.map((s) => s.child), redis.child]);

  const results = lgs.map((l) => l.result);
  const r = (k) => sum(results.map((x) => (x.results ? x.results[k] || 0 : 0)));
  const heldOf = (k) => sum(results.map((x) => (x.results && x.results.held ? x.results.held[k] || 0 : 0)));
  const duration = Math.max(...results.map((x) => (x.results ? x.results.duration_s : 0)));
  const lastArrival = t0 ? Number(t0) / 1000 + duration * 1000 : triggeredAt;
  const end = samples.find((x) => x.at >= lastArrival) || samples[samples.length - 1] || { at: triggeredAt, cpu: cpuFan0 };
  const measuredWall = (end.at - triggeredAt) / 1000;
  const cpuFan1 = end.cpu;
  const lat = percentiles(results.map((x) => x.results && x.results.latency_hist_ms));
  const errors = results.map((x) => (x.errors && x.errors.total ? x.errors : x.error ? x : null)).filter(Boolean);
  const connectedClients = r("clients_connected");
  const serverDelta = sum(held) - sum(before);
  return {
    adapter,
    connections: { asked: CONNECTIONS, joined, connectedAtEnd: connectedClients, connectSecs, perBackend, cpuCores: connectCpu },
    hold: { secs: HOLD_SECS, pingIntervalMs: PING_INTERVAL, pingTimeoutMs: PING_TIMEOUT, brokenDuringHold: heldOf("clients_broken"), pongsByHoldEnd: heldOf("pongs"), cpuCores: holdCpu },
    memoryKb: {
      serversBefore: before, serversConnected: connected, serversHeld: held, serversPeak: after.map((a) => a.hwmKb),
      perConnection: joined ? serverDelta / joined : null, proxy: proxyMem, loadgens: lgMem, redis: redisMem,
    },
    fanout: {
      messages: MESSAGES, expected: r("expected"), delivered: r("delivered"), lost: r("lost"), duplicated: r("duplicated"),
      outOfOrder: r("out_of_order"), brokenClients: r("clients_broken"), durationSecs: duration,
      deliveriesPerSec: duration > 0 ? r("delivered") / duration : 0, latency: lat, wallSecs: fanWall,
      pongsTotal: r("pongs"), cpuCores: measuredWall > 0 ? cpuSince(cpuFan0, cpuFan1, measuredWall) : null, measuredWallSecs: measuredWall,
    },
    ok: results.every((x) => x.ok),
    errors,
  };
}

/** Per-backend open connections as the proxy's workers count them (SIGUSR2). */
function proxyCounts(child, backends) {
  return new Promise((resolve) => {
    let out = "";
    const timer = setTimeout(() => finish(null), 6000);
    const onData = (c) => {
      out += c;
      if (out.includes("\n")) finish(out.split("\n")[0]);
    };
    const finish = (line) => {
      clearTimeout(timer);
      child.stdout.removeListener("data", onData);
      try {
        const { workers } = JSON.parse(line);
        const per = Array(backends).fill(0);
        for (const w of Object.values(workers)) w.perBackend.forEach((n, i) => (per[i] += n));
        resolve(per);
      } catch {
        resolve(null);
      }
    };
    child.stdout.on("data", onData);
    child.kill("SIGUSR2");
  });
}

function machine() {
  let nofile = "?";
  try {
    nofile = execFileSync("sh", ["-c", "ulimit -n; ulimit -Hn"], { encoding: "utf8" }).trim().split("\n").join(" soft / ") + " hard";
  } catch {}
  return { cpus: os.cpus().length, cpuModel: os.cpus()[0] && os.cpus()[0].model, memGiB: Math.round(os.totalmem() / 2 ** 30), nofile, node: process.version, kernel: os.release() };
}

function markdown(runs, m, command) {
  const lines = [
    "# Cluster capacity: one machine, one proxy port, Redis adapter",
    "",
    `Command: \`${command}\``,
    `Machine: ${m.cpus} cores (${m.cpuModel}), ${m.memGiB} GiB, Linux ${m.kernel}, Node ${m.node}; file limit per process ${m.nofile}.`,
    `Layout: ${SERVERS} roomcast nodes (release \`roomcast-bench-server\`), a ${PROXY_WORKERS}-worker round-robin TCP proxy on one port (\`bench/proxy.js\`, each worker connecting from its own loopback address), ${LOADGENS} load generators (release \`roomcast-loadgen\`, one thread each) from ${SOURCES} loopback source addresses, one Redis; nothing pinned, all on the same ${os.cpus().length} cores.`,
    `Heartbeat: pingInterval ${PING_INTERVAL} ms, pingTimeout ${PING_TIMEOUT} ms; hold ${HOLD_SECS} s after the last client joined.`,
    "",
    "| adapter | joined | connect s | broken in hold | pongs by hold end | server RSS before → held (MiB) | KB/conn (servers) | proxy RSS MiB | loadgen RSS MiB | deliveries | lost | dup | deliveries/s | p50 ms | p99 ms | fan-out s |",
    "|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const r of runs) {
    const mem = r.memoryKb;
    lines.push(`| ${r.adapter} | ${r.connections.joined} | ${r.connections.connectSecs.toFixed(1)} | ${r.hold.brokenDuringHold} | ${r.hold.pongsByHoldEnd} | ${mib(sum(mem.serversBefore))} → ${mib(sum(mem.serversHeld))} | ${mem.perConnection == null ? "-" : mem.perConnection.toFixed(1)} | ${mib(sum(mem.proxy))} | ${mib(sum(mem.loadgens))} | ${r.fanout.delivered}/${r.fanout.expected} | ${r.fanout.lost} | ${r.fanout.duplicated} | ${Math.round(r.fanout.deliveriesPerSec)} | ${r.fanout.latency.p50Ms} | ${r.fanout.latency.p99Ms} | ${r.fanout.durationSecs.toFixed(2)} |`);
  }
  lines.push("");
  for (const r of runs) {
    const mem = r.memoryKb;
    lines.push(`## ${r.adapter}`, "");
    lines.push(`- connections per node (proxy's count): ${r.connections.perBackend ? r.connections.perBackend.join(", ") : "?"}`);
    lines.push(`- server RSS MiB per node, before / connected / held / peak: ${mem.serversBefore.map((b, i) => `${mib(b)}/${mib(mem.serversConnected[i])}/${mib(mem.serversHeld[i])}/${mib(mem.serversPeak[i])}`).join(", ")}`);
    const cores = (c) => (c ? Object.entries(c).map(([k, v]) => `${k} ${v}`).join(", ") : "?");
    lines.push(`- CPU in cores while connecting: ${cores(r.connections.cpuCores)}; during the hold (heartbeats only): ${cores(r.hold.cpuCores)}; from the measured trigger to the first sample after the last arrival (${r.fanout.measuredWallSecs.toFixed(1)} s): ${cores(r.fanout.cpuCores)}`);
    lines.push(`- proxy RSS MiB (primary, workers): ${mem.proxy.map(mib).join(", ")}; load generators: ${mem.loadgens.map(mib).join(", ")}; Redis: ${mib(mem.redis)}`);
    lines.push(`- fan-out: ${r.fanout.messages} events to one room of ${r.connections.joined}; ${r.fanout.delivered} deliveries in ${r.fanout.durationSecs.toFixed(2)} s from the trigger to the last arrival (from go, warm-up round of 20 events included, until every load generator had counted: ${r.fanout.wallSecs.toFixed(1)} s); out of order ${r.fanout.outOfOrder}`);
    lines.push(`- pongs answered over the whole run: ${r.fanout.pongsTotal}; clients broken by the end: ${r.fanout.brokenClients}; all load generators ok: ${r.ok}`);
    if (r.errors.length) lines.push(`- errors: ${JSON.stringify(r.errors)}`);
    lines.push("");
  }
  return lines.join("\n");
}

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    for (const c of children) c.kill("SIGKILL");
    process.exit(1);
  });
}

(async () => {
  const command = `node bench/capacity.js ${args.join(" ")}`.trim();
  for (const bin of ["roomcast-bench-server", "roomcast-loadgen"]) {
    if (!fs.existsSync(path.join(TARGET, bin))) throw new Error(`${bin} missing: cargo build --release -p roomcast-bench-server -p roomcast-loadgen`);
  }
  const runs = [];
  const m = machine();
  fs.mkdirSync(path.dirname(OUT), { recursive: true });
  let md = "";
  // Written after every run, so a failing later run keeps the earlier ones.
  for (const [i, adapter] of ADAPTERS.entries()) {
    runs.push(await run(adapter, i));
    fs.writeFileSync(`${OUT}.json`, JSON.stringify({ command, machine: m, runs }, null, 2) + "\n");
    md = markdown(runs, m, command);
    fs.writeFileSync(`${OUT}.md`, md + "\n");
  }
  console.log(md);
})()
  .catch((e) => {
    console.error(e);
    process.exitCode = 1;
  })
  .finally(() => {
    for (const c of children) c.kill("SIGKILL");
  });
