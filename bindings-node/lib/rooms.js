"use strict";

/** A room argument (a name, or an array / Set of names) as an array of strings. */
function roomList(value) {
  if (value === undefined || value === null) return [];
  if (typeof value === "string") return [value];
  if (Array.isArray(value) || value instanceof Set) return [...value].map(String);
  return [String(value)];
}

module.exports = { roomList };
