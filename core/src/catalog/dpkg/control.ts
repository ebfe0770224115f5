/** One paragraph of a deb822 control file (dpkg status, status.d entries, `available`). */
export interface ControlStanza {
  /** Field values by lower-case field name; continuation lines joined with "\n". */
  fields: Map<string, string>;
  /** 1-based line number where the stanza starts, for warnings. */
  line: number;
}

export interface ControlProblem {
  line: number;
  message: string;
}

export interface ControlFile {
  stanzas: ControlStanza[];
  problems: ControlProblem[];
}

/**
 * A comment line `#\0+N` stands for N + 1 lines of the original file that a condensed copy left
 * out (DpkgStatusCondenser), so problems keep the line numbers of the file in the image.
 */
export const SKIP_MARKER = "#\u0000+";
// The NUL keeps the marker from colliding with any comment a real status file would carry.
// eslint-disable-next-line no-control-regex
const SKIP_PATTERN = /^#\u0000\+(\d{1,12})$/;

/** Callers show a handful; keeping more would let a padded file grow this list without bound. */
const MAX_PROBLEMS = 1000;
const LF = 0x0a;
const CR = 0x0d;

/**
 * The lines of `content` split at CRLF, LF or CR, decoded one at a time: a status file padded to
 * hundreds of MiB is never turned into one string or one array of every line.
 */
function* linesOf(content: Buffer): Generator<string> {
  let start = content.length >= 3 && content[0] === 0xef && content[1] === 0xbb && content[2] === 0xbf ? 3 : 0;
  let nextLf = content.indexOf(LF, start);
  let nextCr = content.indexOf(CR, start);
  for (;;) {
    if (nextLf !== -1 && nextLf < start) nextLf = content.indexOf(LF, start);
    if (nextCr !== -1 && nextCr < start) nextCr = content.indexOf(CR, start);
    const end = nextLf === -1 ? nextCr : nextCr === -1 ? nextLf : Math.min(nextLf, nextCr);
    if (end === -1) {
      yield content.toString("utf8", start);
      return;
    }
    yield content.toString("utf8", start, end);
    start = end + (content[end] === CR && content[end + 1] === LF ? 2 : 1);
  }
}

/**
 * Parses deb822 text (deb-control(5)): stanzas separated by one or more blank lines, `Field: value`
 * lines, continuation lines starting with a space or tab. Tolerates CRLF, a BOM, whitespace-only
 * separator lines and a missing final newline. Never throws: lines it cannot place are reported as
 * problems (the first MAX_PROBLEMS) and skipped, because one damaged stanza must not hide the rest of
 * the package database. Lines are read one at a time, so size is bounded only by the caller.
 */
export function parseControlFile(content: Buffer | string): ControlFile {
  const bytes = typeof content === "string" ? Buffer.from(content, "utf8") : content;
  const stanzas: ControlStanza[] = [];
  const problems: ControlProblem[] = [];
  const problem = (line: number, message: string): void => {
    if (problems.length < MAX_PROBLEMS) problems.push({ line, message });
  };

  let current: ControlStanza | undefined;
  let lastField: string | undefined;
  let lineNumber = 0;

  for (const line of linesOf(bytes)) {
    lineNumber += 1;
    if (line.trim() === "") {
      current = undefined;
      lastField = undefined;
      continue;
    }
    if (line.startsWith(" ") || line.startsWith("\t")) {
      if (current && lastField !== undefined) {
        const previous = current.fields.get(lastField) ?? "";
        const continuation = line.slice(1).trimEnd();
        current.fields.set(lastField, previous === "" ? continuation : `${previous}\n${continuation}`);
      } else {
        problem(lineNumber, "continuation line outside a field");
      }
      continue;
    }
    if (line.startsWith("#")) {
      const skipped = SKIP_PATTERN.exec(line);
      if (skipped) lineNumber += Number(skipped[1]);
      continue;
    }
    const colon = line.indexOf(":");
    const name = colon > 0 ? line.slice(0, colon).trim() : "";
    if (!name || /\s/.test(name)) {
      problem(lineNumber, "line is neither a field nor a continuation");
      lastField = undefined;
      continue;
    }
    if (!current) {
      current = { fields: new Map(), line: lineNumber };
      stanzas.push(current);
    }
    const key = name.toLowerCase();
    if (current.fields.has(key)) {
      problem(lineNumber, `duplicate field ${name}; keeping the first`);
      lastField = undefined;
      continue;
    }
    current.fields.set(key, line.slice(colon + 1).trim());
    lastField = key;
  }

  return { stanzas, problems };
}
