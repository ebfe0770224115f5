/**
 * A `pom.properties` file as java.util.Properties reads it: `key=value`, `key: value` or
 * `key value`, `#`/`!` comments, trailing-backslash continuations and backslash escapes.
 */
export function parseProperties(text: string): Map<string, string> {
  const properties = new Map<string, string>();
  const lines = text.split(/\r\n|\r|\n/);
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!.replace(/^[ \t\f]+/, "");
    if (line === "" || line.startsWith("#") || line.startsWith("!")) continue;
    while (endsWithOddBackslashes(line) && i + 1 < lines.length) {
      line = line.slice(0, -1) + lines[++i]!.replace(/^[ \t\f]+/, "");
    }
    let split = 0;
    while (split < line.length && !"=: \t\f".includes(line[split]!)) split += line[split] === "\\" ? 2 : 1;
    const key = unescapeProperty(line.slice(0, split));
    let rest = line.slice(split).replace(/^[ \t\f]+/, "");
    if (rest.startsWith("=") || rest.startsWith(":")) rest = rest.slice(1).replace(/^[ \t\f]+/, "");
    properties.set(key, unescapeProperty(rest));
  }
  return properties;
}

function endsWithOddBackslashes(line: string): boolean {
  let count = 0;
  for (let i = line.length - 1; i >= 0 && line[i] === "\\"; i--) count++;
  return count % 2 === 1;
}

const ESCAPES: Record<string, string> = { t: "\t", n: "\n", r: "\r", f: "\f" };

function unescapeProperty(value: string): string {
  return value.replace(/\\(u[0-9a-fA-F]{4}|.)/g, (_, escape: string) =>
    escape.length === 5 ? String.fromCharCode(parseInt(escape.slice(1), 16)) : (ESCAPES[escape] ?? escape),
  );
}

/**
 * The main section of a JAR manifest: `Name: value` headers up to the first blank line, where a
 * line starting with one space continues the previous value (the 72-byte line limit splits long
 * values anywhere, even inside a word). Per-entry sections after it describe single files. Keys are
 * lower-cased.
 */
export function parseManifestMainSection(text: string): Map<string, string> {
  const headers = new Map<string, string>();
  let lastKey: string | undefined;
  for (const line of text.split(/\r\n|\r|\n/)) {
    if (line === "") {
      if (headers.size > 0) break;
      continue;
    }
    if (line.startsWith(" ")) {
      if (lastKey !== undefined) headers.set(lastKey, headers.get(lastKey)! + line.slice(1));
      continue;
    }
    const colon = line.indexOf(":");
    if (colon <= 0) {
      lastKey = undefined;
      continue;
    }
    // Header names are case-insensitive (JAR File Specification).
    lastKey = line.slice(0, colon).trim().toLowerCase();
    if (!headers.has(lastKey)) headers.set(lastKey, line.slice(colon + 1).trim());
    else lastKey = undefined;
  }
  return headers;
}
