/**
 * The headers of a core-metadata file (dist-info METADATA, egg-info PKG-INFO): RFC 822 style
 * "Key: value" lines, where a line starting with whitespace continues the previous value, and the
 * first blank line starts the long description, which is not read.
 */
export type MetadataHeaders = Map<string, string[]>;

export function parseMetadataHeaders(text: string): MetadataHeaders {
  const headers: MetadataHeaders = new Map();
  let last: { values: string[]; index: number } | undefined;
  // Lines are taken one at a time up to the blank line that ends the headers: the description
  // after it (most of a METADATA file) is never split.
  for (let start = 0; start <= text.length;) {
    const newline = text.indexOf("\n", start);
    const end = newline < 0 ? text.length : newline;
    const line = text.slice(start, newline > start && text.charCodeAt(newline - 1) === 13 ? newline - 1 : end);
    start = end + 1;
    if (line.trim() === "") break;
    const first = line.charCodeAt(0);
    if (first === 32 || first === 9) {
      if (last) last.values[last.index] += `\n${line.trim()}`;
      continue;
    }
    const colon = line.indexOf(":");
    if (colon <= 0) {
      last = undefined;
      continue;
    }
    // Header names are case-insensitive (email.message semantics); values keep their case.
    const key = line.slice(0, colon).trim().toLowerCase();
    const values = headers.get(key) ?? [];
    values.push(line.slice(colon + 1).trim());
    headers.set(key, values);
    last = { values, index: values.length - 1 };
  }
  return headers;
}

export function firstHeader(headers: MetadataHeaders, key: string): string | undefined {
  const value = headers.get(key.toLowerCase())?.[0]?.trim();
  return value ? value : undefined;
}

/** Longer `License:` values are the licence text pasted whole, not a name. */
const MAX_LICENSE_NAME = 100;

/**
 * The declared licences, most precise first: the PEP 639 SPDX expression, else a short `License:`
 * value, else the names in "License ::" trove classifiers.
 */
export function licensesOf(headers: MetadataHeaders): string[] | undefined {
  const expression = firstHeader(headers, "License-Expression");
  if (expression) return [expression];
  const license = firstHeader(headers, "License");
  if (license && !license.includes("\n") && license.length <= MAX_LICENSE_NAME && license.toUpperCase() !== "UNKNOWN")
    return [license];
  const fromClassifiers = (headers.get("classifier") ?? [])
    .map((classifier) => classifier.split("::").map((part) => part.trim()))
    .filter((parts) => parts[0] === "License" && parts.length > 1)
    .map((parts) => parts[parts.length - 1]!)
    .filter((name) => name !== "OSI Approved");
  return fromClassifiers.length > 0 ? [...new Set(fromClassifiers)] : undefined;
}

/** PEP 503: names compare lower-cased with runs of "-", "_" and "." as one "-". */
export function normalizePythonName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, "-");
}
