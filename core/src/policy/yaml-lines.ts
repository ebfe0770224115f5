/**
 * Where each value of a block-style YAML document starts, keyed by JSON pointer ("/gate/failOn",
 * "/exceptions/0/expires"). js-yaml returns plain values without positions, and schema errors must
 * name a line, so this walks the text by indentation. It understands what policy files use: block
 * mappings and sequences, flow sequences and mappings on one line, block scalars and comments. Anything
 * it cannot place falls back to the nearest enclosing value (see `lineOf`).
 */
export type LineMap = Map<string, number>;

interface Frame {
  indent: number;
  path: string[];
  /** A "key:" with its value on the following lines; a sequence may sit at the key's own indent. */
  openKey: boolean;
}

const KEY = /^("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^\s#'"{[][^:#]*?)\s*:(?:\s+|$)(.*)$/;

export function yamlLineMap(text: string): LineMap {
  const map: LineMap = new Map([["", 1]]);
  const frames: Frame[] = [{ indent: -1, path: [], openKey: true }];
  const nextIndex = new Map<string, number>();
  let blockScalarIndent: number | undefined;
  const lines = text.split(/\r?\n/);

  lines.forEach((raw, index) => {
    const lineNo = index + 1;
    const indent = raw.length - raw.trimStart().length;
    const content = raw.trim();
    if (blockScalarIndent !== undefined) {
      if (content === "" || indent > blockScalarIndent) return;
      blockScalarIndent = undefined;
    }
    if (content === "" || content.startsWith("#") || content === "---" || content === "...") return;

    let column = indent;
    let rest = content;
    while (rest === "-" || rest.startsWith("- ")) {
      while (frames.length > 1) {
        const top = frames[frames.length - 1]!;
        if (top.indent > column || (top.indent === column && !top.openKey)) frames.pop();
        else break;
      }
      const parent = frames[frames.length - 1]!.path;
      const parentKey = pointer(parent);
      const position = nextIndex.get(parentKey) ?? 0;
      nextIndex.set(parentKey, position + 1);
      const itemPath = [...parent, String(position)];
      map.set(pointer(itemPath), lineNo);
      frames.push({ indent: column, path: itemPath, openKey: false });
      const after = rest.slice(1);
      const gap = after.length - after.trimStart().length;
      column += 1 + gap;
      rest = after.trim();
      if (rest === "") return;
    }

    const key = KEY.exec(rest);
    if (!key) {
      recordFlow(map, frames[frames.length - 1]!.path, rest, lineNo);
      return;
    }
    while (frames.length > 1 && frames[frames.length - 1]!.indent >= column) frames.pop();
    const path = [...frames[frames.length - 1]!.path, unquote(key[1]!)];
    map.set(pointer(path), lineNo);
    const value = stripComment(key[2]!);
    if (value === "") {
      frames.push({ indent: column, path, openKey: true });
    } else if (/^[|>][0-9+-]*$/.test(value)) {
      blockScalarIndent = column;
    } else {
      recordFlow(map, path, value, lineNo);
    }
  });
  return map;
}

/** The line of `path`, or of its nearest ancestor that has one. */
export function lineOf(map: LineMap, path: string): number {
  let current = path;
  for (;;) {
    const line = map.get(current);
    if (line !== undefined) return line;
    if (current === "") return 1;
    current = current.slice(0, current.lastIndexOf("/"));
  }
}

export function pointer(path: readonly string[]): string {
  return path.map((part) => `/${part.replace(/~/g, "~0").replace(/\//g, "~1")}`).join("");
}

/** Items of a one-line flow sequence or mapping sit on the line of their parent. */
function recordFlow(map: LineMap, path: string[], value: string, lineNo: number): void {
  const open = value[0];
  if (open !== "[" && open !== "{") return;
  const inner = value.slice(1, value.lastIndexOf(open === "[" ? "]" : "}"));
  splitTopLevel(inner).forEach((item, position) => {
    if (open === "[") {
      map.set(pointer([...path, String(position)]), lineNo);
    } else {
      const colon = item.indexOf(":");
      if (colon > 0) map.set(pointer([...path, unquote(item.slice(0, colon).trim())]), lineNo);
    }
  });
}

function splitTopLevel(text: string): string[] {
  const items: string[] = [];
  let depth = 0;
  let quote: string | undefined;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    if (quote) {
      if (char === quote) quote = undefined;
    } else if (char === '"' || char === "'") quote = char;
    else if (char === "[" || char === "{") depth++;
    else if (char === "]" || char === "}") depth--;
    else if (char === "," && depth === 0) {
      items.push(text.slice(start, i));
      start = i + 1;
    }
  }
  if (text.slice(start).trim() !== "") items.push(text.slice(start));
  return items.map((item) => item.trim());
}

function stripComment(value: string): string {
  let quote: string | undefined;
  for (let i = 0; i < value.length; i++) {
    const char = value[i]!;
    if (quote) {
      if (char === quote) quote = undefined;
    } else if (char === '"' || char === "'") quote = char;
    else if (char === "#" && (i === 0 || /\s/.test(value[i - 1]!))) return value.slice(0, i).trim();
  }
  return value.trim();
}

function unquote(key: string): string {
  const trimmed = key.trim();
  if (trimmed.length >= 2 && (trimmed[0] === '"' || trimmed[0] === "'") && trimmed.endsWith(trimmed[0])) {
    return trimmed.slice(1, -1);
  }
  return trimmed;
}
