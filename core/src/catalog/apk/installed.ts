/** An installed package as apk's database (`lib/apk/db/installed`) records it. */
export interface ApkEntry {
  name: string;
  version: string;
  arch?: string;
  /** `o:` the aports package it was built from: the source package, and the match key (docs/matching-rules.md R5). */
  origin?: string;
  license?: string;
  maintainer?: string;
  /** `c:` the aports commit it was built from. */
  commit?: string;
  url?: string;
  /** Bytes: `S:` the .apk, `I:` installed. */
  size?: number;
  installedSize?: number;
  buildTime?: number;
  /** Files owned, relative to the image root (`F:` directory + `R:` file). */
  files: string[];
}

export interface ApkProblem {
  line: number;
  message: string;
}

export interface ApkDatabase {
  entries: ApkEntry[];
  problems: ApkProblem[];
}

interface Stanza {
  line: number;
  fields: Map<string, string>;
  files: string[];
}

/**
 * Parses the apk installed database (apk-tools `apk_db_index_read`: one stanza per package,
 * blank-line separated, `X:value` lines). `F:` sets the directory for the `R:` lines after it; the
 * other per-file keys (`a:`, `M:`, `Z:`) only describe those entries. Never throws: a stanza
 * without name or version is reported and skipped, the rest still count.
 */
export function parseApkInstalled(content: Buffer | string): ApkDatabase {
  const text = typeof content === "string" ? content : content.toString("utf8");
  const stanzas: Stanza[] = [];
  const problems: ApkProblem[] = [];
  let current: Stanza | undefined;
  let directory = "";

  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trimEnd();
    if (line === "") {
      current = undefined;
      return;
    }
    if (line.length < 2 || line[1] !== ":") {
      problems.push({ line: index + 1, message: "line is not a `X:value` field" });
      return;
    }
    if (!current) {
      current = { line: index + 1, fields: new Map(), files: [] };
      stanzas.push(current);
      directory = "";
    }
    const key = line[0]!;
    const value = line.slice(2);
    if (key === "F") directory = value.replace(/^\/+|\/+$/g, "");
    else if (key === "R") {
      if (value) current.files.push(directory ? `${directory}/${value}` : value);
    } else if (!current.fields.has(key)) current.fields.set(key, value);
  });

  const entries: ApkEntry[] = [];
  for (const stanza of stanzas) {
    const name = stanza.fields.get("P")?.trim();
    const version = stanza.fields.get("V")?.trim();
    if (!name || !version) {
      problems.push({
        line: stanza.line,
        message: `package ${name ? `"${name}" ` : ""}without ${name ? "version" : "name"}`,
      });
      continue;
    }
    entries.push(toEntry(name, version, stanza));
  }
  return { entries, problems };
}

function toEntry(name: string, version: string, stanza: Stanza): ApkEntry {
  const field = (key: string): string | undefined => stanza.fields.get(key)?.trim() || undefined;
  const number = (key: string): number | undefined => {
    const value = field(key);
    return value && /^\d+$/.test(value) ? Number(value) : undefined;
  };
  const entry: ApkEntry = { name, version, files: stanza.files };
  const strings: Array<[keyof ApkEntry, string]> = [
    ["arch", "A"],
    ["origin", "o"],
    ["license", "L"],
    ["maintainer", "m"],
    ["commit", "c"],
    ["url", "U"],
  ];
  for (const [property, key] of strings) {
    const value = field(key);
    if (value) (entry as unknown as Record<string, string>)[property] = value;
  }
  const numbers: Array<[keyof ApkEntry, string]> = [
    ["size", "S"],
    ["installedSize", "I"],
    ["buildTime", "t"],
  ];
  for (const [property, key] of numbers) {
    const value = number(key);
    if (value !== undefined) (entry as unknown as Record<string, number>)[property] = value;
  }
  return entry;
}
