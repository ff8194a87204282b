#!/usr/bin/env node
"use strict";

// A round-robin TCP proxy for more connections than one process may hold: K worker processes
// (Node's cluster module, SCHED_RR: the primary accepts on the one port and hands each
// connection to the next worker), each piping its connections to the backends in turn, no
// affinity. Every proxied connection costs two descriptors, so with a per-process file limit
// of L a worker carries about L/2 connections: K is sized by the caller (bench/capacity.js).
//
//   node bench/proxy.js --backends 3001,3002,3003 [--workers 4] [--port 0] [--host 127.0.0.1]
//                       [--sources 127.2.0.1,127.2.0.2]
//
// --sources: loopback addresses the workers connect to the backends from (worker i from the
// i-th, round-robin). Past ~28k connections from one address the kernel's search for a free
// ephemeral port in connect() turns into a scan of the whole range on every connection,
// which takes the proxy's cores; one address per worker keeps each address lightly used.
//
// Prints `listening on <port>` once every worker listens, and on SIGUSR2 writes one JSON line
// of per-worker connection counts to stdout. Stops on SIGTERM (workers end with the primary).

const cluster = require("node:cluster");
const net = require("node:net");

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};

function primary() {
  const backends = String(opt("backends", "")).split(",").filter(Boolean).map(Number);
  const workers = Number(opt("workers", 4));
  const host = opt("host", "127.0.0.1");
  if (backends.length === 0 || backends.some((p) => !Number.isInteger(p) || p <= 0)) {
    console.error("proxy: --backends needs a comma-separated list of ports");
    process.exit(2);
  }
  cluster.schedulingPolicy = cluster.SCHED_RR;
  let listening = 0;
  const counts = new Map();
  for (let i = 0; i < workers; i++) {
    const sources = String(opt("sources", "")).split(",").filter(Boolean);
    const w = cluster.fork({
      PROXY_BACKENDS: backends.join(","), PROXY_OFFSET: String(i), PROXY_HOST: host, PROXY_PORT: String(opt("port", 0)),
      PROXY_SOURCE: sources.length ? sources[i % sources.length] : "",
    });
    w.on("listening", (address) => {
      if (++listening === workers) console.log(`listening on ${address.port}`);
    });
    w.on("message", (m) => {
      if (m && m.counts) counts.set(w.process.pid, m.counts);
    });
  }
  cluster.on("exit", (w, code, signal) => {
    if (!stopping) {
      console.error(`proxy: worker ${w.process.pid} exited (${code ?? signal})`);
      process.exit(1);
    }
  });
  let stopping = false;
  process.on("SIGTERM", () => {
    stopping = true;
    for (const w of Object.values(cluster.workers)) w.kill("SIGTERM");
    process.exit(0);
  });
  // Workers report their counts on request; the primary prints them once all answered.
  process.on("SIGUSR2", () => {
    counts.clear();
    const all = Object.values(cluster.workers);
    for (const w of all) w.send("counts");
    const started = Date.now();
    const poll = setInterval(() => {
      if (counts.size === all.length || Date.now() - started > 5000) {
        clearInterval(poll);
        console.log(JSON.stringify({ workers: Object.fromEntries(counts) }));
      }
    }, 20);
  });
}

function worker() {
  const backends = process.env.PROXY_BACKENDS.split(",").map(Number);
  const host = process.env.PROXY_HOST;
  const localAddress = process.env.PROXY_SOURCE || undefined;
  // Workers start their turns at different backends, so the first connections spread out.
  let next = Number(process.env.PROXY_OFFSET);
  const stats = { open: 0, accepted: 0, refused: 0, perBackend: backends.map(() => 0) };
  const server = net.createServer((client) => {
    stats.accepted++;
    client.pause();
    const first = next++;
    // A backend that refuses the connection is skipped, from this connection's turn on.
    const tryBackend = (attempt) => {
      if (attempt >= backends.length) {
        stats.refused++;
        client.destroy();
        return;
      }
      const index = (first + attempt) % backends.length;
      const upstream = net.connect({ port: backends[index], host, localAddress });
      upstream.once("error", () => {
        if (upstream.connecting || !upstream.remoteAddress) tryBackend(attempt + 1);
      });
      upstream.once("connect", () => {
        stats.open++;
        stats.perBackend[index]++;
        upstream.setNoDelay(true);
        client.setNoDelay(true);
        upstream.on("error", () => client.destroy());
        client.on("error", () => upstream.destroy());
        upstream.once("close", () => {
          stats.open--;
          stats.perBackend[index]--;
          client.destroy();
        });
        client.once("close", () => upstream.destroy());
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
      });
    };
    tryBackend(0);
  });
  server.listen({ port: Number(process.env.PROXY_PORT), host, backlog: 4096 });
  process.on("message", (m) => {
    if (m === "counts") process.send({ counts: stats });
  });
  process.on("SIGTERM", () => process.exit(0));
}

if (cluster.isPrimary) primary();
else worker();
