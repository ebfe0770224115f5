/**
 * A heuristic for main modules built from a checkout, whose build info says `(devel)`: release
 * builds commonly stamp their version into a string variable with `-ldflags "-X main.version=v1.2.3"`,
 * and Go (1.18+) records those flags in the build settings. The value counts only when the variable
 * is named like a version and the value looks like a semantic version; anything else ("dev", a
 * commit hash, a date) gives nothing. The result is a guess and is reported as one (docs/catalogers.md).
 */

export interface LdflagsVersion {
  /** In Go module form: "v1.2.3" (a missing "v" is added). */
  version: string;
  /** The variable that was set, as written after -X: "main.version", "example.com/app/internal/build.Version". */
  variable: string;
  /** The value exactly as stamped. */
  value: string;
}

/** `v1.2.3`, `1.2.3-rc.1`, `v2.0.0+build.5`: three numeric parts, optional pre-release and build. */
const SEMVER =
  /^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/;
/** version, Version, appVersion, BuildVersion, VERSION; gitTag and tag are common too. */
const VERSION_VARIABLE = /(?:version|^(?:git)?tag)$/i;

/**
 * A build setting value as the toolchain writes it: Go-quoted (strconv.Quote) when it holds spaces,
 * tabs, newlines or quotes, otherwise as is.
 */
export function unquoteSetting(value: string): string {
  if (!value.startsWith('"') || !value.endsWith('"') || value.length < 2) return value;
  // Go's \xHH, \a and \v escapes are the ones JSON lacks; the rest read the same.
  const json = value
    .slice(1, -1)
    .replace(/\\(x[0-9a-fA-F]{2}|a|v|.)/g, (escape, code: string) =>
      code.startsWith("x") && code.length === 3
        ? `\\u00${code.slice(1)}`
        : code === "a"
          ? "\\u0007"
          : code === "v"
            ? "\\u000b"
            : escape,
    );
  try {
    return JSON.parse(`"${json}"`) as string;
  } catch {
    return value;
  }
}

/**
 * Splits a flags string the way the go command does (cmd/internal/quoted): fields separated by
 * spaces, where a field may be wrapped in single or double quotes and nothing is unescaped inside.
 */
export function splitFlags(flags: string): string[] {
  const fields: string[] = [];
  let i = 0;
  while (i < flags.length) {
    while (i < flags.length && /\s/.test(flags[i]!)) i++;
    if (i >= flags.length) break;
    const quote = flags[i];
    if (quote === "'" || quote === '"') {
      const end = flags.indexOf(quote, i + 1);
      if (end < 0) {
        fields.push(flags.slice(i + 1));
        break;
      }
      fields.push(flags.slice(i + 1, end));
      i = end + 1;
      continue;
    }
    let end = i;
    while (end < flags.length && !/\s/.test(flags[end]!)) end++;
    fields.push(flags.slice(i, end));
    i = end;
  }
  return fields;
}

/** Every `-X importpath.name=value` assignment in a linker flags string, in order. */
export function stringAssignments(ldflags: string): { variable: string; value: string }[] {
  const fields = splitFlags(ldflags);
  const assignments: { variable: string; value: string }[] = [];
  for (let i = 0; i < fields.length; i++) {
    const field = fields[i]!;
    let assignment: string | undefined;
    if (field === "-X" || field === "--X") assignment = fields[++i];
    else if (field.startsWith("-X=") || field.startsWith("--X=")) assignment = field.slice(field.indexOf("=") + 1);
    if (!assignment) continue;
    const equals = assignment.indexOf("=");
    if (equals > 0) assignments.push({ variable: assignment.slice(0, equals), value: assignment.slice(equals + 1) });
  }
  return assignments;
}

/**
 * The version stamped with -X into a version-named variable, preferring package main, then the
 * main module's own packages, then any other; undefined when there is none that looks like a version.
 */
export function ldflagsVersion(settings: Record<string, string>, mainModule: string): LdflagsVersion | undefined {
  const raw = settings["-ldflags"];
  if (!raw) return undefined;
  const rank = (variable: string): number => {
    const dot = variable.lastIndexOf(".");
    const pkg = dot > 0 ? variable.slice(0, dot) : "";
    if (pkg === "main") return 0;
    return pkg === mainModule || pkg.startsWith(`${mainModule}/`) ? 1 : 2;
  };
  // The linker applies -X flags in order, so the last one for a variable is what the binary holds.
  const last = new Map<string, string>();
  for (const { variable, value } of stringAssignments(unquoteSetting(raw))) last.set(variable, value);
  const candidates = [...last]
    .map(([variable, value]) => ({ variable, value }))
    .filter(({ variable, value }) => {
      const name = variable.slice(variable.lastIndexOf(".") + 1);
      return variable.includes(".") && VERSION_VARIABLE.test(name) && SEMVER.test(value);
    })
    .map((assignment, order) => ({ ...assignment, order, rank: rank(assignment.variable) }))
    .sort((a, b) => a.rank - b.rank || a.order - b.order);
  const best = candidates[0];
  if (!best) return undefined;
  return {
    version: best.value.startsWith("v") ? best.value : `v${best.value}`,
    variable: best.variable,
    value: best.value,
  };
}
