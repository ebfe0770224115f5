/**
 * Parses os-release / lsb-release syntax (os-release(5)): `KEY=value` lines, values optionally in
 * single or double quotes with backslash escapes, `#` comments. Unparseable lines are skipped, since
 * real files carry stray junk and a partial answer beats none.
 */
export function parseKeyValue(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const raw of text.replace(/^\uFEFF/, "").split(/\r?\n/)) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const match = /^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!match) continue;
    fields.set(match[1]!.toUpperCase(), unquote(match[2]!));
  }
  return fields;
}

function unquote(value: string): string {
  const quote = value[0];
  if ((quote === '"' || quote === "'") && value.length >= 2) {
    const end = value.lastIndexOf(quote);
    const inner = end > 0 ? value.slice(1, end) : value.slice(1);
    return quote === '"' ? inner.replace(/\\(["\\$`])/g, "$1") : inner;
  }
  // Unquoted values end at an inline comment, as a shell would read them.
  return value.replace(/\s+#.*$/, "").trim();
}

/** The first non-empty line of a small text file, trimmed. */
export function firstLine(content: Buffer | undefined): string | undefined {
  if (!content) return undefined;
  for (const line of content
    .toString("utf8")
    .replace(/^\uFEFF/, "")
    .split(/\r?\n/)) {
    const trimmed = line.trim();
    if (trimmed) return trimmed;
  }
  return undefined;
}
