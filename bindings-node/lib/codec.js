"use strict";

// Event arguments cross to Rust as JSON text. Binary values (Buffer, any TypedArray or
// DataView, ArrayBuffer) travel beside the text as Buffers and are referenced from it by
// {"_placeholder":true,"num":i} — the Socket.IO wire convention — so the core splices the text
// into packets without ever parsing it. Incoming placeholders become Buffers again.

const MAX_DEPTH = 1000;

function isBinary(value) {
  return (
    ArrayBuffer.isView(value) ||
    value instanceof ArrayBuffer ||
    (typeof SharedArrayBuffer === "function" && value instanceof SharedArrayBuffer)
  );
}

function toBuffer(value) {
  if (Buffer.isBuffer(value)) return value;
  if (ArrayBuffer.isView(value)) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  return Buffer.from(value);
}

/** Whether a value holds binary data anywhere (the check is cheaper than a replacer pass). */
function hasBinary(value, depth = 0) {
  if (value === null || typeof value !== "object") return false;
  if (isBinary(value)) return true;
  if (depth > MAX_DEPTH) return false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (hasBinary(value[i], depth + 1)) return true;
    return false;
  }
  if (typeof value.toJSON === "function") {
    const json = value.toJSON();
    return json !== value && hasBinary(json, depth + 1);
  }
  for (const key in value) {
    if (Object.prototype.hasOwnProperty.call(value, key) && hasBinary(value[key], depth + 1)) return true;
  }
  return false;
}

/** `args` (an array) as {json, binaries}; `binaries` is undefined when there are none. */
function encode(args) {
  if (!hasBinary(args)) return { json: JSON.stringify(args), binaries: undefined };
  const binaries = [];
  const json = JSON.stringify(args, function replacer(key, value) {
    // `value` has been through toJSON already (a Buffer would be {type, data}); the holder
    // still has the original.
    const raw = this[key];
    if (raw !== null && typeof raw === "object" && isBinary(raw)) {
      binaries.push(toBuffer(raw));
      return { _placeholder: true, num: binaries.length - 1 };
    }
    return value;
  });
  return { json, binaries };
}

function revive(value, binaries) {
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = revive(value[i], binaries);
    return value;
  }
  if (value._placeholder === true && Number.isInteger(value.num)) {
    return value.num >= 0 && value.num < binaries.length ? binaries[value.num] : value;
  }
  for (const key of Object.keys(value)) {
    const revived = revive(value[key], binaries);
    if (revived !== value[key]) value[key] = revived;
  }
  return value;
}

/** Arguments from Rust ({json, binaries}) as an array of values, Buffers in place. */
function decode(args) {
  return withBinaries(JSON.parse(args.json), args.binaries);
}

/** Parsed arguments as an array of values, `binaries` (if any) put back in place. */
function withBinaries(values, binaries) {
  const list = Array.isArray(values) ? values : [values];
  return binaries && binaries.length ? revive(list, binaries) : list;
}

module.exports = { encode, decode, withBinaries, hasBinary, isBinary };
