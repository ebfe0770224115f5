/** What an installed gemspec declares, read without running Ruby. */
export interface GemspecFacts {
  name?: string;
  version?: string;
  licenses?: string[];
}

/** A Ruby string literal: "..." or '...', as RubyGems writes them (simple escapes only). */
const STRING = String.raw`(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')`;
const assignment = (field: string): RegExp => new RegExp(String.raw`^\s*\w+\.${field}\s*=\s*(.*)$`, "m");
const NAME = assignment("name");
const VERSION = assignment("version");
const LICENSES = assignment("licenses?");
/** `# stub: <name> <version> <platform> <require paths>`, RubyGems' header for stub specifications. */
const STUB = /^#\s*stub:\s+(\S+)\s+(\S+)/m;

function unescape(literal: string): string {
  return literal
    .replace(/\\u([0-9a-fA-F]{4})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)))
    .replace(/\\(.)/g, "$1");
}

function stringsIn(expression: string): string[] {
  const found: string[] = [];
  for (const match of expression.matchAll(new RegExp(STRING, "g"))) found.push(unescape(match[1] ?? match[2] ?? ""));
  return found.filter((value) => value.trim() !== "");
}

/**
 * Reads `s.name = "x".freeze`, `s.version = "1.2.3"` (or `Gem::Version.new("1.2.3")`) and
 * `s.licenses = ["MIT".freeze]` / `s.license = "MIT"` from a gemspec that `gem install` wrote
 * under specifications/. Installed gemspecs are generated with literal values, so no evaluation is
 * needed; the stub header fills in when the assignments are missing.
 */
export function parseGemspec(text: string): GemspecFacts {
  const facts: GemspecFacts = {};
  const name = NAME.exec(text);
  if (name) facts.name = stringsIn(name[1]!)[0];
  const version = VERSION.exec(text);
  if (version) facts.version = stringsIn(version[1]!)[0];
  const stub = STUB.exec(text);
  if (stub) {
    facts.name ??= stub[1];
    facts.version ??= stub[2];
  }
  const licenses = LICENSES.exec(text);
  if (licenses) {
    const list = stringsIn(licenses[1]!);
    if (list.length > 0) facts.licenses = [...new Set(list)];
  }
  return facts;
}
