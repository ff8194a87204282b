"use strict";

// The browser client served at <path>socket.io.js (socket.io's `serveClient`). roomcast does
// not ship one: it serves socket.io-client's own bundle when that package is installed.

const fs = require("node:fs");
const path = require("node:path");

function searchPaths() {
  const paths = [];
  if (require.main && require.main.path) paths.push(require.main.path);
  paths.push(process.cwd(), __dirname);
  return paths;
}

/** The minified bundle's bytes, or null when socket.io-client cannot be found. */
function loadClientBundle() {
  let pkg;
  try {
    pkg = require.resolve("socket.io-client/package.json", { paths: searchPaths() });
  } catch {
    return null;
  }
  const dist = path.join(path.dirname(pkg), "dist");
  for (const file of ["socket.io.min.js", "socket.io.js"]) {
    try {
      return fs.readFileSync(path.join(dist, file));
    } catch {
      // try the next file
    }
  }
  return null;
}

module.exports = { loadClientBundle };
