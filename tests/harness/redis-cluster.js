"use strict";

// A throwaway Redis Cluster of three masters (no replicas) on free loopback ports, for the
// sharded adapter's cluster suite.

const { execFile } = require("node:child_process");
const fs = require("node:fs");
const net = require("node:net");
const os = require("node:os");
const path = require("node:path");
const { spawnRedis } = require("./redis");
const { freePort } = require("./ports");

const READY_TIMEOUT_MS = 20000;


/** A port whose cluster bus port (port + 10000) is free too. */
async function freeClusterPort() {
  for (;;) {
    const port = await freePort();
    if (port + 10000 > 65535) continue;
    const busFree = await new Promise((resolve) => {
      const srv = net.createServer();
      srv.once("error", () => resolve(false));
      srv.listen(port + 10000, "127.0.0.1", () => srv.close(() => resolve(true)));
    });
    if (busFree) return port;
  }
}

function redisCli(args) {
  return new Promise((resolve, reject) => {
    execFile(process.env.REDIS_CLI || "redis-cli", args, { timeout: READY_TIMEOUT_MS }, (err, stdout, stderr) => {
      if (err) reject(new Error(`redis-cli ${args.join(" ")}: ${err.message} ${stderr}`));
      else resolve(stdout);
    });
  });
}

function spawnNode(port, dir) {
  return spawnRedis(port, [
    "--cluster-enabled", "yes", "--cluster-config-file", path.join(dir, `nodes-${port}.conf`),
    "--cluster-node-timeout", "2000", "--dir", dir,
  ]);
}

/** Resolves once every node reports cluster_state:ok, within a bound. */
async function waitClusterOk(ports) {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let last = "";
  while (Date.now() < deadline) {
    const states = await Promise.all(ports.map((p) =>
      redisCli(["-p", String(p), "cluster", "info"]).catch((e) => e.message)));
    if (states.every((s) => /cluster_state:ok/.test(s))) return;
    last = states.join(" | ");
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`redis cluster not ok within ${READY_TIMEOUT_MS} ms: ${last}`);
}

/**
 * Starts three cluster-enabled redis-servers and joins them (`redis-cli --cluster create`);
 * resolves to {urls, ports, url (comma list), command(port, ...args), stop(), restart()}.
 */
async function startRedisCluster({ masters = 3 } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "roomcast-redis-cluster-"));
  // Kept until the process exits: restart() after stop() needs the nodes' cluster config files.
  process.once("exit", () => fs.rmSync(dir, { recursive: true, force: true }));
  const ports = [];
  for (let i = 0; i < masters; i++) ports.push(await freeClusterPort());
  let nodes = await Promise.all(ports.map((p) => spawnNode(p, dir)));
  const stopNodes = async () => {
    const current = nodes;
    nodes = [];
    for (const { child } of current) child.kill("SIGKILL");
    await Promise.all(current.map((n) => n.exited));
  };
  try {
    await redisCli(["--cluster", "create", ...ports.map((p) => `127.0.0.1:${p}`),
      "--cluster-replicas", "0", "--cluster-yes"]);
    await waitClusterOk(ports);
  } catch (err) {
    await stopNodes();
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const urls = ports.map((p) => `redis://127.0.0.1:${p}`);
  return {
    ports,
    urls,
    url: urls.join(","),
    /** Runs a command on one node (redis-cli, raw output). */
    command: (port, ...args) => redisCli(["-p", String(port), ...args]),
    stop: stopNodes,
    /** Kills every node (like a crash) and starts them again from their cluster config files. */
    async restart() {
      await stopNodes();
      nodes = await Promise.all(ports.map((p) => spawnNode(p, dir)));
      await waitClusterOk(ports);
    },
  };
}

/** The sharded channels each node of the cluster has subscribers on (`PUBSUB SHARDCHANNELS`). */
async function shardChannels(cluster, pattern = "*") {
  const lists = await Promise.all(cluster.ports.map((p) => cluster.command(p, "pubsub", "shardchannels", pattern)));
  return lists.flatMap((out) => out.split("\n").map((l) => l.trim()).filter(Boolean)).sort();
}

/** How many subscribers a sharded channel has, over the whole cluster. */
async function shardNumSub(cluster, channel) {
  const outs = await Promise.all(cluster.ports.map((p) => cluster.command(p, "pubsub", "shardnumsub", channel)));
  return outs.reduce((sum, out) => sum + (parseInt(out.trim().split("\n")[1], 10) || 0), 0);
}

module.exports = { startRedisCluster, shardChannels, shardNumSub };
