"use strict";

// The browser client served under the path (socket.io's `serveClient`): socket.io.js, its
// minified, msgpack and ESM builds and their source maps. roomcast does not ship them: it
// serves socket.io-client's `dist` folder when that package is installed (socket.io serves
// the same files, bundled with itself). Reading, compressing and serving happen in the core.

const path = require("node:path");

function searchPaths() {
  const paths = [];
  if (require.main && require.main.path) paths.push(require.main.path);
  paths.push(process.cwd(), __dirname);
  return paths;
}

/** `{ dir, version }` of socket.io-client's dist folder, or null when it cannot be found. */
function findClientDist() {
  let pkg;
  try {
    pkg = require.resolve("socket.io-client/package.json", { paths: searchPaths() });
  } catch {
    return null;
  }
  let version;
  try {
    version = String(require(pkg).version);
  } catch {
    return null;
  }
  return { dir: path.join(path.dirname(pkg), "dist"), version };
}

module.exports = { findClientDist };
