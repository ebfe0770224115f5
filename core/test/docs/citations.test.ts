import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";

// Code comments cite the rules and notes in docs/ by number: "docs/matching-rules.md R3", "… §3.1",
// "docs/ci-platforms.md §1.4", and a bare R<n>/P<n> in a comment means matching-rules.md. This test
// reads every comment and test name in core, cli, plugins, bench, scripts and examples and fails
// when a citation names a docs file that does not exist, a rule or section that has no heading there,
// or the notes that used to live outside the repository.

const REPO = fileURLToPath(new URL("../../../", import.meta.url));
const DOCS = path.join(REPO, "docs");
const THIS_FILE = fileURLToPath(import.meta.url);
const DEFAULT_DOC = "matching-rules.md";

const SKIP_DIRS = new Set(["node_modules", "dist", ".turbo", "coverage"]);
const TS_FILE = /\.(?:[cm]?ts|tsx)$/;
/** Other text the adapters are made of; only explicit `docs/…md` citations are read there. */
const OTHER_FILE = /\.(?:groovy|sh|ya?ml|xml)$/;

interface Comment {
  file: string;
  line: number;
  text: string;
}

interface Citation {
  file: string;
  line: number;
  doc: string;
  /** "R3", "P10" or "§3.1". */
  id: string;
}

interface Problem {
  where: string;
  message: string;
}

/** Test and suite names: `it("… (R13)")` cites a rule as much as a comment does. */
const TEST_CALL = /^(?:it|test|describe|describeWithShared)(?:\.\w+)*$/;

/**
 * Every comment of a TypeScript file, and the names of its tests, found through the parser so other
 * strings and regexes never count.
 */
function typescriptComments(file: string, text: string): Comment[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const seen = new Set<number>();
  const comments: Comment[] = [];
  const visit = (node: ts.Node): void => {
    if (node.kind >= ts.SyntaxKind.FirstJSDocNode && node.kind <= ts.SyntaxKind.LastJSDocNode) return;
    // `it("name", …)`, or `it.each(table)("name", …)` whose callee is itself a call.
    const callee = ts.isCallExpression(node)
      ? ts.isCallExpression(node.expression)
        ? node.expression.expression
        : node.expression
      : undefined;
    if (ts.isCallExpression(node) && callee && TEST_CALL.test(callee.getText(source))) {
      const name = node.arguments[0];
      if (name && ts.isStringLiteralLike(name)) {
        const line = source.getLineAndCharacterOfPosition(name.getStart(source)).line + 1;
        comments.push({ file, line, text: name.text });
      }
    }
    const children = node.getChildren(source);
    // Every comment is leading trivia of some token, so looking before each token finds them all.
    if (children.length === 0) {
      for (const range of ts.getLeadingCommentRanges(text, node.pos) ?? []) {
        if (seen.has(range.pos)) continue;
        seen.add(range.pos);
        const line = source.getLineAndCharacterOfPosition(range.pos).line + 1;
        comments.push({ file, line, text: text.slice(range.pos, range.end) });
      }
    }
    children.forEach(visit);
  };
  visit(source);
  return comments;
}

/** One "comment" per line for files we do not parse; only explicit citations are read from them. */
function lineComments(file: string, text: string): Comment[] {
  return text.split("\n").map((line, index) => ({ file, line: index + 1, text: line }));
}

/** `docs/<file>.md` at the repository root; "ossf/osv-schema docs/schema.md" is another repository's. */
const EXPLICIT = /(?<![\w./-])(?<![\w.-]+\/[\w.-]+\s+`?)docs\/([\w.-]+\.md)/g;
/** The ids that follow a docs path: "R3", "R3, R5", "R2–R13", "§9, P22", "§3.1 and §3.4". */
const ID_LIST = /^(?:[\s,;]*(?:and\s+)?(?:§\s?\d+(?:\.\d+)*|[RP]\d+)(?:\s*[–-]\s*[RP]\d+)?)*/;
const ID = /§\s?(\d+(?:\.\d+)*)|\b([RP]\d+)\b/g;
const BARE_RULE = /\b([RP]\d{1,2})\b/g;
/** The reference notes that were copied into docs/; citing the originals points outside the repository. */
const OUTSIDE = /scanner-rules|(?<!docs\/)ci-platforms(?:\.md)?\b/;

function idsIn(list: string): string[] {
  return [...list.matchAll(ID)].map((m) => (m[1] !== undefined ? `§${m[1]}` : m[2]!));
}

/** Citations in one comment, and mentions of the notes that live outside the repository. */
function citationsIn(comment: Comment, bareRulesCount: boolean): { citations: Citation[]; problems: Problem[] } {
  const where = `${comment.file}:${comment.line}`;
  const citations: Citation[] = [];
  const problems: Problem[] = [];
  const outside = OUTSIDE.exec(comment.text.replace(/docs\/ci-platforms\.md/g, ""));
  if (outside) {
    problems.push({
      where,
      message: `cites "${outside[0]}", which is not in this repository; cite docs/matching-rules.md or docs/ci-platforms.md`,
    });
  }
  const explicitSpans: Array<[number, number]> = [];
  for (const match of comment.text.matchAll(EXPLICIT)) {
    const start = match.index + match[0].length;
    const list = ID_LIST.exec(comment.text.slice(start))![0];
    explicitSpans.push([match.index, start + list.length]);
    const ids = idsIn(list);
    if (ids.length === 0) citations.push({ file: comment.file, line: comment.line, doc: match[1]!, id: "" });
    for (const id of ids) citations.push({ file: comment.file, line: comment.line, doc: match[1]!, id });
  }
  if (bareRulesCount) {
    for (const match of comment.text.matchAll(BARE_RULE)) {
      if (explicitSpans.some(([from, to]) => match.index >= from && match.index < to)) continue;
      citations.push({ file: comment.file, line: comment.line, doc: DEFAULT_DOC, id: match[1]! });
    }
  }
  return { citations, problems };
}

/** The rule ids and section numbers a docs file has headings (or explicit anchors) for. */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  let fenced = false;
  for (const line of markdown.split("\n")) {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    if (fenced) continue;
    const heading = /^#{1,6}\s+(.*)$/.exec(line)?.[1];
    if (heading !== undefined) {
      const rule = /^([RP]\d+)\b/.exec(heading)?.[1];
      if (rule) anchors.add(rule);
      const section = /^(\d+(?:\.\d+)*)\.?(?:\s|$)/.exec(heading)?.[1];
      if (section) anchors.add(`§${section}`);
    }
    for (const anchor of line.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) {
      const id = anchor[1]!;
      anchors.add(/^[rp]\d+$/i.test(id) ? id.toUpperCase() : `§${id.replace(/^§/, "")}`);
    }
  }
  return anchors;
}

/** Problems with `citations` against the docs in `docsDir`: missing files, missing headings. */
function checkCitations(citations: Citation[], docsDir: string): Problem[] {
  const anchors = new Map<string, Set<string> | undefined>();
  const problems: Problem[] = [];
  for (const citation of citations) {
    const where = `${citation.file}:${citation.line}`;
    if (!anchors.has(citation.doc)) {
      const file = path.join(docsDir, citation.doc);
      anchors.set(citation.doc, existsSync(file) ? anchorsOf(readFileSync(file, "utf8")) : undefined);
    }
    const known = anchors.get(citation.doc);
    if (!known) {
      problems.push({ where, message: `cites docs/${citation.doc}, which does not exist` });
    } else if (citation.id && !known.has(citation.id)) {
      problems.push({
        where,
        message: `cites ${citation.id} of docs/${citation.doc}, which has no heading for it; fix the number or add the rule`,
      });
    }
  }
  return problems;
}

function sourceFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const files: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (SKIP_DIRS.has(entry.name)) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) files.push(...sourceFiles(full));
    else if (TS_FILE.test(entry.name) || OTHER_FILE.test(entry.name)) files.push(full);
  }
  return files;
}

function scanRepository(): { citations: Citation[]; problems: Problem[] } {
  const roots = ["core", "cli", "plugins", "bench", "scripts", "examples"].map((dir) => path.join(REPO, dir));
  const citations: Citation[] = [];
  const problems: Problem[] = [];
  for (const file of roots.flatMap(sourceFiles)) {
    if (file === THIS_FILE) continue;
    const relative = path.relative(REPO, file);
    const text = readFileSync(file, "utf8");
    const isTypescript = TS_FILE.test(file);
    const comments = isTypescript ? typescriptComments(relative, text) : lineComments(relative, text);
    for (const comment of comments) {
      const found = citationsIn(comment, isTypescript);
      citations.push(...found.citations);
      problems.push(...found.problems);
    }
  }
  return { citations, problems };
}

function report(problems: Problem[]): string[] {
  return problems.map((p) => `${p.where}: ${p.message}`);
}

describe("citations of docs/ in code comments", () => {
  const scanned = scanRepository();

  it("every cited docs file, rule and section exists", () => {
    const problems = [...scanned.problems, ...checkCitations(scanned.citations, DOCS)];
    expect(report(problems)).toEqual([]);
  });

  it("sees the citations the code is known to make", () => {
    // A scan that found nothing would pass the check above vacuously.
    const cited = scanned.citations.map((c) => `${c.file.split(path.sep).join("/")} ${c.doc} ${c.id}`);
    expect(cited).toContain("core/src/match/dpkg.ts matching-rules.md R2");
    expect(cited).toContain("core/src/report/options.ts ci-platforms.md §1.4");
    expect(cited).toContain("core/src/catalog/rpm/third-party.ts matching-rules.md P12");
    expect(cited).toContain("core/test/match/distro.test.ts matching-rules.md R13");
    expect(scanned.citations.length).toBeGreaterThan(50);
  });
});

describe("the citation checker", () => {
  const check = (source: string): string[] => {
    const { citations, problems } = typescriptComments("sample.ts", source)
      .map((c) => citationsIn(c, true))
      .reduce((a, b) => ({ citations: [...a.citations, ...b.citations], problems: [...a.problems, ...b.problems] }));
    return report([...problems, ...checkCitations(citations, DOCS)]);
  };

  it("accepts rules, pitfalls and sections that exist, explicit or bare", () => {
    const source = [
      "// Source matching (docs/matching-rules.md R2), alias merging (R17).",
      "/** Layer limits (docs/matching-rules.md §1.7, P20); budgets (docs/ci-platforms.md §1.4). */",
      "/* docs/matching-rules.md R2–R13 and §10 */",
      "const x = 1; // trailing: P10",
    ].join("\n");
    expect(check(source)).toEqual([]);
  });

  it("rejects a rule, pitfall or section that has no heading", () => {
    const source = [
      "// (R20)",
      "// docs/matching-rules.md P99",
      "/** docs/matching-rules.md §3.9 */",
      "// docs/ci-platforms.md §1.4, §7.1",
    ].join("\n");
    expect(check(source)).toEqual([
      "sample.ts:1: cites R20 of docs/matching-rules.md, which has no heading for it; fix the number or add the rule",
      "sample.ts:2: cites P99 of docs/matching-rules.md, which has no heading for it; fix the number or add the rule",
      "sample.ts:3: cites §3.9 of docs/matching-rules.md, which has no heading for it; fix the number or add the rule",
      "sample.ts:4: cites §7.1 of docs/ci-platforms.md, which has no heading for it; fix the number or add the rule",
    ]);
  });

  it("rejects docs files that do not exist and the notes outside the repository", () => {
    const source = ["// docs/scanning.md §2", "// (scanner-rules §3.1)", "// see ci-platforms.md §1.4"].join("\n");
    expect(check(source)).toEqual([
      'sample.ts:2: cites "scanner-rules", which is not in this repository; cite docs/matching-rules.md or docs/ci-platforms.md',
      'sample.ts:3: cites "ci-platforms.md", which is not in this repository; cite docs/matching-rules.md or docs/ci-platforms.md',
      "sample.ts:1: cites docs/scanning.md, which does not exist",
    ]);
  });

  it("reads comments only: strings, regexes and templates that look like citations are not citations", () => {
    const source = [
      'const label = "see R99 and scanner-rules";',
      "const pattern = /R99|P99/;",
      "const text = `docs/matching-rules.md R99 ${label}`;",
      "// R1 is real",
    ].join("\n");
    expect(check(source)).toEqual([]);
  });

  it("reads test and suite names, which cite rules too", () => {
    const source = [
      'describe("kernel headers (R13)", () => {',
      '  it.each([1])("case %s (R98)", () => {});',
      "});",
    ].join("\n");
    expect(check(source)).toEqual([
      "sample.ts:2: cites R98 of docs/matching-rules.md, which has no heading for it; fix the number or add the rule",
    ]);
  });

  it("does not read other documents' § numbers or docs/ folders as ours", () => {
    expect(check("// Debian policy §5.6.12; the CVSS v2 guide §3.3; ossf/osv-schema docs/schema.md §2")).toEqual([]);
  });
});

describe("docs/matching-rules.md keeps the numbering the code was written against", () => {
  const anchors = anchorsOf(readFileSync(path.join(DOCS, "matching-rules.md"), "utf8"));
  // The numbering of the reference notes the code's citations were first written against:
  // rules R1-R19, pitfalls P1-P23, sections 1-11 with these subsections.
  const expected = [
    ...Array.from({ length: 19 }, (_, i) => `R${i + 1}`),
    ...Array.from({ length: 23 }, (_, i) => `P${i + 1}`),
    ...Array.from({ length: 11 }, (_, i) => `§${i + 1}`),
    ...["1.1", "1.2", "1.3", "1.4", "1.5", "1.6", "1.7", "3.1", "3.2", "3.3", "3.4", "3.5", "5.1", "5.2"].map(
      (s) => `§${s}`,
    ),
  ];

  it.each(expected)("has a heading for %s", (id) => {
    expect(anchors.has(id)).toBe(true);
  });
});

describe("docs/ci-platforms.md keeps its section numbers", () => {
  const anchors = anchorsOf(readFileSync(path.join(DOCS, "ci-platforms.md"), "utf8"));
  const expected = [
    ...Array.from({ length: 9 }, (_, i) => `§1.${i + 1}`),
    ...Array.from({ length: 7 }, (_, i) => `§2.${i + 1}`),
    "§3",
    ...Array.from({ length: 7 }, (_, i) => `§4.${i + 1}`),
  ];

  it.each(expected)("has a heading for %s", (id) => {
    expect(anchors.has(id)).toBe(true);
  });
});
