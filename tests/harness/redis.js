"use strict";

// A throwaway redis-server on a free loopback port, for the cluster suite.

const { spawn } = require("node:child_process");
const { freePort } = require("./ports");

const START_TIMEOUT_MS = 10000;


function spawnRedis(port, extraArgs = []) {
  const child = spawn(
    process.env.REDIS_SERVER || "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "no", ...extraArgs],
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

/** A throwaway self-signed certificate for a TLS redis-server (needs the openssl command). */
function selfSignedCert() {
  const { execFileSync } = require("node:child_process");
  const fs = require("node:fs");
  const os = require("node:os");
  const path = require("node:path");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "roomcast-redis-tls-"));
  const key = path.join(dir, "key.pem");
  const cert = path.join(dir, "cert.pem");
  execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
    "-days", "1", "-subj", "/CN=127.0.0.1"], { stdio: "ignore" });
  return { dir, key, cert };
}

/**
 * Starts redis-server; resolves to {url, port, stop(), restart()}. Options: `password`, `db`
 * (put in the URL), `tls` (TLS only, self-signed: the URL is `rediss://...#insecure`).
 */
async function startRedis({ password, db, tls } = {}) {
  const port = await freePort();
  const extra = [];
  if (password) extra.push("--requirepass", password);
  let certs;
  if (tls) {
    certs = selfSignedCert();
    extra.splice(0, 0, "--tls-port", String(port), "--tls-cert-file", certs.cert, "--tls-key-file", certs.key,
      "--tls-ca-cert-file", certs.cert, "--tls-auth-clients", "no");
  }
  const listenPort = tls ? 0 : port;
  let current = await spawnRedis(listenPort, extra);
  const stop = async () => {
    if (!current) return;
    const { child, exited } = current;
    current = null;
    child.kill("SIGKILL");
    await exited;
  };
  const auth = password ? `:${encodeURIComponent(password)}@` : "";
  const url = `${tls ? "rediss" : "redis"}://${auth}127.0.0.1:${port}${db !== undefined ? `/${db}` : ""}${tls ? "#insecure" : ""}`;
  return {
    port,
    url,
    stop: async () => {
      await stop();
      if (certs) require("node:fs").rmSync(certs.dir, { recursive: true, force: true });
    },
    /** Kills the server (no clean shutdown, like a crash) and starts a new one on the same port. */
    async restart() {
      await stop();
      current = await spawnRedis(listenPort, extra);
    },
  };
}

module.exports = { startRedis, spawnRedis };
