// A socket.io-client (npm) session against a roomcast server written in Python; prints one
// JSON line with what it saw. Usage: node node_client.js <url> <transport>
"use strict";

const { io } = require("socket.io-client");

const [url, transport] = process.argv.slice(2);
const socket = io(url, { transports: [transport], reconnection: false, forceNew: true });
const result = {};

function fail(err) {
  console.log(JSON.stringify({ error: String(err && err.message ? err.message : err) }));
  process.exit(1);
}
setTimeout(() => fail("timed out"), 8000);

socket.on("connect_error", fail);

/** Emits with an acknowledgement and resolves with all of its arguments. */
function call(event, ...args) {
  return new Promise((resolve, reject) => {
    socket.timeout(5000).emit(event, ...args, (err, ...res) => (err ? reject(err) : resolve(res)));
  });
}
socket.on("question", (n, ack) => ack(n * 2, "twice"));
socket.on("connect", async () => {
  try {
    result.id = socket.id;
    [result.sum] = await call("sum", 2, 3);
    const [buf, info] = await call("binary", Buffer.from([1, 2, 3]), { nested: Buffer.from([4]) });
    result.binary = [Array.from(buf), Array.from(info.nested)];
    const news = new Promise((resolve) => socket.once("news", (...args) => resolve(args)));
    await call("join-and-broadcast", "js-room");
    const [text, bin] = await news;
    result.news = [text, Array.from(bin)];
    result.asked = await call("ask-me", 21);
    socket.disconnect();
    console.log(JSON.stringify(result));
    process.exit(0);
  } catch (err) {
    fail(err);
  }
});
