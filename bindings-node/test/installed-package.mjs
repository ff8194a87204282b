// Preloaded (NODE_OPTIONS=--import) when ROOMCAST_INSTALL_DIR names a folder where the packed
// npm tarballs were installed: `require("roomcast")` and `import "roomcast"` then load
// <dir>/node_modules/roomcast instead of this source tree, so the suite tests what users
// install. Node resolves a package's own name to itself first; these hooks override that.

import Module, { register } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";

const dir = process.env.ROOMCAST_INSTALL_DIR;

function isRoomcast(specifier) {
  return specifier === "roomcast" || specifier.startsWith("roomcast/");
}

if (dir) {
  const base = path.resolve(dir);
  const resolveFilename = Module._resolveFilename;
  Module._resolveFilename = function (request, parent, isMain, options) {
    // No parent: a parent inside this package would resolve its own name to itself first.
    if (isRoomcast(request)) return resolveFilename.call(this, request, null, isMain, { paths: [base] });
    return resolveFilename.call(this, request, parent, isMain, options);
  };
  const parentURL = pathToFileURL(path.join(base, "index.js")).href;
  const hooks = `
    export async function resolve(specifier, context, next) {
      if (specifier === "roomcast" || specifier.startsWith("roomcast/")) {
        return next(specifier, { ...context, parentURL: ${JSON.stringify(parentURL)} });
      }
      return next(specifier, context);
    }`;
  register(`data:text/javascript,${encodeURIComponent(hooks)}`);
}
