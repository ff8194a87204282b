// A socket.io-client (npm) session against a Flask app served by roomcast.flask's
// socketio.run: starts on long-polling, upgrades to WebSocket, then uses Socket.IO and a
// Flask route on the same port. Prints one JSON line. Usage: node node_flask_client.js <url>
"use strict";

const { io } = require("socket.io-client");

const [url] = process.argv.slice(2);
const socket = io(url, {
  reconnection: false,
  forceNew: true,
  auth: { user: "node" },
  query: { room: "lobby" },
  extraHeaders: { "X-Agent": "node" },
});
const result = {};

function fail(err) {
  console.log(JSON.stringify({ error: String(err && err.message ? err.message : err) }));
  process.exit(1);
}
setTimeout(() => fail("timed out"), 10000);
socket.on("connect_error", fail);

function call(event, ...args) {
  return new Promise((resolve, reject) => {
    socket.timeout(5000).emit(event, ...args, (err, ...res) => (err ? reject(err) : resolve(res)));
  });
}

const welcome = new Promise((resolve) => socket.once("welcome", resolve));
const upgraded = new Promise((resolve) => {
  socket.io.on("open", () => {
    const engine = socket.io.engine;
    if (engine.transport.name === "websocket") resolve();
    else engine.once("upgrade", resolve);
  });
});

socket.on("connect", async () => {
  try {
    result.welcome = await welcome;
    await upgraded;
    result.transport = socket.io.engine.transport.name;
    [result.sum] = await call("sum", 20, 22);
    [result.rooms] = await call("join", "js-room");
    const news = new Promise((resolve) => socket.once("room message", resolve));
    await call("to room", "js-room", "hello room");
    result.news = await news;
    // The Flask app answers on the same port while the WebSocket is open.
    result.page = await (await fetch(url + "/")).text();
    const posted = await fetch(url + "/echo", { method: "POST", body: "from node" });
    result.posted = await posted.text();
    result.stillWebsocket = socket.io.engine.transport.name;
    socket.disconnect();
    console.log(JSON.stringify(result));
    process.exit(0);
  } catch (err) {
    fail(err);
  }
});
