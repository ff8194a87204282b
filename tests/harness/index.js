"use strict";

const nodeTest = require("node:test");
const server = require("./server");
const client = require("./client");
const wait = require("./wait");
const raw = require("./raw");

const TEST_TIMEOUT_MS = 15000;

/**
 * node:test's `test`, with a per-test timeout and, when the test fails, the stderr of every
 * running scenario server printed to our stderr.
 */
function test(name, options, fn) {
  if (typeof options === "function") {
    fn = options;
    options = {};
  }
  return nodeTest.test(name, { timeout: TEST_TIMEOUT_MS, ...options }, async (t) => {
    try {
      return await fn(t);
    } catch (err) {
      server.dumpServerLogs(name);
      throw err;
    }
  });
}

/** Sorts a copy. */
function sorted(list) {
  return [...list].sort();
}

let uniqueCounter = 0;
/** A name no other test of this process uses (rooms, dynamic namespaces...). */
function unique(prefix = "u") {
  uniqueCounter += 1;
  return `${prefix}-${process.pid}-${uniqueCounter}`;
}

/** Connects a websocket client to "/" that joined the `observers` room. */
async function observer(target) {
  const socket = await client.connect(target, { mode: "websocket" });
  await wait.emitWithAck(socket, "join", "observers");
  return socket;
}

/** Waits for an observed-<kind> report about socket `id` ("disconnect" or "disconnecting"). */
async function observed(observerSocket, kind, id, timeoutMs = wait.DEFAULT_TIMEOUT_MS) {
  const [report] = await wait.onceMatching(
    observerSocket,
    `observed-${kind}`,
    (r) => r && r.id === id,
    timeoutMs,
  );
  return report;
}

/** The pairs of server flavours a cluster suite runs, from CLUSTER_PAIRS (`a:b,c:d`). */
function clusterPairs(fallback = "rust:rust,rust:reference") {
  return (process.env.CLUSTER_PAIRS || fallback)
    .split(",")
    .map((p) => p.trim().split(":"))
    .filter((p) => p.length === 2);
}

module.exports = {
  test,
  clusterPairs,
  before: nodeTest.before,
  after: nodeTest.after,
  beforeEach: nodeTest.beforeEach,
  afterEach: nodeTest.afterEach,
  sorted,
  unique,
  observer,
  observed,
  ...server,
  ...client,
  ...wait,
  ...raw,
};
