"use strict";

// The roomcast package the Node test servers run: the one installed in ROOMCAST_INSTALL_DIR
// (a folder where the packed npm tarballs were installed: what users get), otherwise this
// repository's bindings-node/.

const path = require("node:path");

const dir = process.env.ROOMCAST_INSTALL_DIR;
module.exports = dir
  ? require(require.resolve("roomcast", { paths: [path.resolve(dir)] }))
  : require("../../../bindings-node");
