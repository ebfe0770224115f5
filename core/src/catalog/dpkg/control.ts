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
 * Parses deb822 text (deb-control(5)): stanzas separated by one or more blank lines, `Field: value`
 * lines, continuation lines starting with a space or tab. Tolerates CRLF, a BOM, whitespace-only
 * separator lines and a missing final newline. Never throws: lines it cannot place are reported as
 * problems and skipped, because one damaged stanza must not hide the rest of the package database.
 */
export function parseControlFile(content: Buffer | string): ControlFile {
  const text = (typeof content === "string" ? content : content.toString("utf8")).replace(/^\uFEFF/, "");
  const lines = text.split(/\r\n|\n|\r/);
  const stanzas: ControlStanza[] = [];
  const problems: ControlProblem[] = [];

  let current: ControlStanza | undefined;
  let lastField: string | undefined;

  lines.forEach((line, index) => {
    const lineNumber = index + 1;
    if (line.trim() === "") {
      current = undefined;
      lastField = undefined;
      return;
    }
    if (line.startsWith(" ") || line.startsWith("\t")) {
      if (current && lastField !== undefined) {
        const previous = current.fields.get(lastField) ?? "";
        const continuation = line.slice(1).trimEnd();
        current.fields.set(lastField, previous === "" ? continuation : `${previous}\n${continuation}`);
      } else {
        problems.push({ line: lineNumber, message: "continuation line outside a field" });
      }
      return;
    }
    if (line.startsWith("#")) return;
    const colon = line.indexOf(":");
    const name = colon > 0 ? line.slice(0, colon).trim() : "";
    if (!name || /\s/.test(name)) {
      problems.push({ line: lineNumber, message: "line is neither a field nor a continuation" });
      lastField = undefined;
      return;
    }
    if (!current) {
      current = { fields: new Map(), line: lineNumber };
      stanzas.push(current);
    }
    const key = name.toLowerCase();
    if (current.fields.has(key)) {
      problems.push({ line: lineNumber, message: `duplicate field ${name}; keeping the first` });
      lastField = undefined;
      return;
    }
    current.fields.set(key, line.slice(colon + 1).trim());
    lastField = key;
  });

  return { stanzas, problems };
}
