"use strict";

// Minimal hand-driven engine.io v4 / socket.io v5 clients, for what socket.io-client hides:
// duplicate acks, unanswered pings, the exact packets of long-polling.

const WebSocket = require("ws");
const { DEFAULT_TIMEOUT_MS } = require("./wait");

const RECORD_SEPARATOR = "\x1e";

function sioPath(options) {
  return options.path || "/socket.io/";
}

function connectPacket(nsp, auth) {
  const prefix = nsp && nsp !== "/" ? `${nsp},` : "";
  return `40${prefix}${auth === undefined ? "" : JSON.stringify(auth)}`;
}

function isConnectFor(nsp) {
  const prefix = nsp && nsp !== "/" ? `40${nsp},` : "40";
  return (m) => typeof m === "string" && m.startsWith(prefix) && (nsp !== "/" || m === "40" || m[2] === "{");
}

/**
 * A raw engine.io client over a websocket. Every received text frame is queued (pings too,
 * unless they are answered automatically); `next(predicate)` takes the first matching one.
 */
class RawWebSocketClient {
  constructor(ws, { answerPings }) {
    this.ws = ws;
    this.answerPings = answerPings;
    this.queue = [];
    this.waiters = [];
    this.closed = false;
    this.closeEvent = new Promise((resolve) => {
      ws.on("close", (code, reason) => {
        this.closed = true;
        resolve({ code, reason: reason.toString() });
        for (const w of this.waiters.splice(0)) {
          clearTimeout(w.timer);
          w.reject(new Error(`websocket closed while waiting for ${w.what}`));
        }
      });
    });
    ws.on("error", () => {});
    ws.on("message", (data, isBinary) => {
      const message = isBinary ? Buffer.from(data) : data.toString();
      if (message === "2" && this.answerPings) {
        this.send("3");
        return;
      }
      this.queue.push(message);
      this.flush();
    });
  }

  static async connect(server, { nsp = "/", auth, answerPings = true, path, connect = true } = {}) {
    const url = `ws://127.0.0.1:${server.port}${sioPath({ path })}?EIO=4&transport=websocket`;
    const ws = new WebSocket(url);
    const client = new RawWebSocketClient(ws, { answerPings });
    await new Promise((resolve, reject) => {
      ws.once("open", resolve);
      ws.once("error", reject);
    });
    const open = await client.next((m) => typeof m === "string" && m.startsWith("0"), DEFAULT_TIMEOUT_MS, "open");
    client.handshake = JSON.parse(open.slice(1));
    if (connect) {
      client.send(connectPacket(nsp, auth));
      const ok = await client.next(isConnectFor(nsp), DEFAULT_TIMEOUT_MS, "CONNECT");
      client.sid = JSON.parse(ok.slice(ok.indexOf("{"))).sid;
    }
    return client;
  }

  send(message) {
    this.ws.send(message);
  }

  flush() {
    for (let i = 0; i < this.waiters.length; ) {
      const w = this.waiters[i];
      const index = this.queue.findIndex(w.predicate);
      if (index === -1) {
        i++;
        continue;
      }
      const [message] = this.queue.splice(index, 1);
      this.waiters.splice(i, 1);
      clearTimeout(w.timer);
      w.resolve(message);
    }
  }

  /** Takes the first queued or future message matching `predicate`. */
  next(predicate = () => true, timeoutMs = DEFAULT_TIMEOUT_MS, what = "a message") {
    if (typeof predicate === "string") {
      const prefix = predicate;
      predicate = (m) => typeof m === "string" && m.startsWith(prefix);
      what = `a message starting with ${JSON.stringify(prefix)}`;
    }
    const index = this.queue.findIndex(predicate);
    if (index !== -1) return Promise.resolve(this.queue.splice(index, 1)[0]);
    if (this.closed) return Promise.reject(new Error(`websocket closed while waiting for ${what}`));
    return new Promise((resolve, reject) => {
      const waiter = { predicate, resolve, reject, what };
      waiter.timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; queued: ${JSON.stringify(this.queue)}`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** Deliberate silent window: rejects if a message matching `predicate` arrives within `ms`. */
  async expectNoMessage(predicate, ms = 300) {
    if (typeof predicate === "string") {
      const prefix = predicate;
      predicate = (m) => typeof m === "string" && m.startsWith(prefix);
    }
    const message = await this.next(predicate, ms).catch(() => undefined);
    if (message !== undefined) throw new Error(`unexpected message within ${ms} ms: ${JSON.stringify(message)}`);
  }

  close() {
    if (!this.closed) this.ws.terminate();
  }
}

/**
 * A raw engine.io client over HTTP long-polling. `poll()` returns the packets of one GET,
 * `post(packets)` sends a payload.
 */
class RawPollingClient {
  constructor(server, { path } = {}) {
    this.base = `${server.url}${sioPath({ path })}?EIO=4&transport=polling`;
  }

  static async open(server, options = {}) {
    const client = new RawPollingClient(server, options);
    const packets = await client.get(client.base);
    const open = packets[0];
    if (!open || !open.startsWith("0")) throw new Error(`unexpected handshake ${JSON.stringify(packets)}`);
    client.handshake = JSON.parse(open.slice(1));
    client.sid = client.handshake.sid;
    return client;
  }

  url() {
    return `${this.base}&sid=${encodeURIComponent(this.sid)}`;
  }

  async get(url, timeoutMs = DEFAULT_TIMEOUT_MS) {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    const body = await res.text();
    if (res.status !== 200) throw new Error(`GET ${url} -> ${res.status} ${body}`);
    return body.split(RECORD_SEPARATOR);
  }

  /** One long-poll: resolves with the packets of the response. */
  poll(timeoutMs = DEFAULT_TIMEOUT_MS) {
    return this.get(this.url(), timeoutMs);
  }

  /** Polls until a packet matching `predicate` arrives; returns every packet seen, in order. */
  async pollUntil(predicate, timeoutMs = DEFAULT_TIMEOUT_MS) {
    const deadline = Date.now() + timeoutMs;
    const seen = [];
    while (!seen.some(predicate)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out polling; got ${JSON.stringify(seen)}`);
      seen.push(...(await this.poll(left)));
    }
    return seen;
  }

  async post(packets, timeoutMs = DEFAULT_TIMEOUT_MS) {
    const body = (Array.isArray(packets) ? packets : [packets]).join(RECORD_SEPARATOR);
    const res = await fetch(this.url(), {
      method: "POST",
      body,
      headers: { "content-type": "text/plain;charset=UTF-8" },
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`POST -> ${res.status} ${text}`);
    return text;
  }

  async connect(nsp = "/", auth) {
    await this.post(connectPacket(nsp, auth));
    const seen = await this.pollUntil(isConnectFor(nsp));
    const ok = seen.find(isConnectFor(nsp));
    this.socketId = JSON.parse(ok.slice(ok.indexOf("{"))).sid;
    return seen;
  }

  async close() {
    await this.post("1").catch(() => {});
  }
}

module.exports = { RawWebSocketClient, RawPollingClient, RECORD_SEPARATOR, connectPacket };
