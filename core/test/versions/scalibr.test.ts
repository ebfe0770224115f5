import { expect, it } from "vitest";
import { compareVersions, InvalidVersionError, isValidVersion } from "../../src/versions/index.js";
import { describeWithShared } from "../helpers/shared.js";
import { OP_SIGN, readScalibr, signToOp, type OrderingLine } from "./corpus.js";
import { ALPINE_INVALID, MAVEN_EXCEPTIONS, PYPI_INVALID } from "./expectations.js";

// osv-scalibr semantic/testdata: one ecosystem's files per entry, as mapped upstream (README.md there).
const CORPORA: Record<string, string[]> = {
  Alpine: ["alpine-versions.txt", "alpine-versions-generated.txt"],
  Debian: ["debian-versions.txt", "debian-versions-generated.txt"],
  "Red Hat": ["redhat-versions.txt"],
  npm: ["semver-versions.txt"],
  "crates.io": ["semver-versions.txt"],
  Go: ["semver-versions.txt"],
  RubyGems: ["rubygems-versions.txt", "rubygems-versions-generated.txt"],
  NuGet: ["nuget-versions.txt"],
  Packagist: ["packagist-versions.txt", "packagist-versions-generated.txt"],
  Maven: ["maven-versions.txt", "maven-versions-generated.txt"],
  PyPI: ["pypi-versions.txt", "pypi-versions-generated.txt"],
  CRAN: ["cran-versions.txt", "cran-versions-generated.txt"],
  Hackage: ["hackage-versions.txt"],
  Pub: ["pub-versions.txt"],
};

/**
 * Operands the ecosystem's own tool rejects. scalibr orders them anyway (it has lenient parsers);
 * we refuse them, so these lines must throw InvalidVersionError instead of matching scalibr.
 * Each set was checked against the tool: apk-tools' grammar (its own `!v` vectors, see
 * apk-tools.test.ts), pypa/packaging `Version()` (oracles.test.ts re-checks every PyPI string),
 * node-semver `valid()` (the library itself), golang.org/x/mod/semver, Gem::Version's pattern.
 */
const BIG = "999999999999999999999999999991";
const BIG2 = "999999999999999999999999999999";
const BIG3 = `${BIG}.${BIG}.${BIG}`;
const BIG4 = `${BIG2}.${BIG}.${BIG}`;
const EXPECTED_INVALID: Record<string, { operands: RegExp | readonly string[]; lines: number }> = {
  // Latest apk-tools rejects '.' not followed by a digit, upper-case or repeated letters, a letter
  // followed by digits (old Alpine openssh "6.6.1p1-r0"), unknown suffixes and malformed "-r".
  Alpine: {
    operands: new RegExp(`^(?:[0-9.]+p[0-9]+-r[0-9]+|${ALPINE_INVALID.map(escape).join("|")})$`),
    lines: 37 + 58,
  },
  npm: { operands: [BIG, BIG2, BIG3, BIG4, "1.1.3.4.5"], lines: 3 },
  "crates.io": { operands: [BIG, BIG2, BIG3, BIG4, "1.1.3.4.5"], lines: 3 },
  Go: { operands: ["1.1.3.4.5"], lines: 1 },
  // "1beta" does not match Gem::Version::ANCHORED_VERSION_PATTERN ("1.beta" would).
  RubyGems: { operands: ["1beta", "1gamma"], lines: 2 },
  // Legacy (pre-PEP 440) strings, which packaging >= 22 and pip reject.
  PyPI: { operands: PYPI_INVALID, lines: 11 + 69 },
  Pub: { operands: [BIG, BIG2, "1.1.3.4.5"], lines: 2 },
};

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function expectedSign(eco: string, l: OrderingLine): number {
  if (eco === "Maven") {
    const ex = MAVEN_EXCEPTIONS.find((e) => e.file === l.file && e.line === l.line);
    if (ex) {
      // Guard against the exception list drifting from the corpus it annotates.
      expect([l.a, l.op, l.b]).toEqual([ex.a, ex.corpus, ex.b]);
      return OP_SIGN[ex.maven as "<" | ">"];
    }
  }
  return OP_SIGN[l.op];
}

describeWithShared("osv-scalibr version-ordering corpora", () => {
  for (const [eco, files] of Object.entries(CORPORA)) {
    it(`${eco}: ${files.join(", ")}`, () => {
      const failures: string[] = [];
      const invalidOperands = new Set<string>();
      let invalidLines = 0;
      let checked = 0;
      for (const file of files) {
        for (const l of readScalibr(file)) {
          const bad = [l.a, l.b].filter((v) => !isValidVersion(eco, v));
          if (bad.length > 0) {
            invalidLines++;
            bad.forEach((v) => invalidOperands.add(v));
            expect(() => compareVersions(eco, l.a, l.b)).toThrow(InvalidVersionError);
            continue;
          }
          const want = expectedSign(eco, l);
          const got = compareVersions(eco, l.a, l.b);
          const inverse = compareVersions(eco, l.b, l.a);
          checked++;
          if (got !== want || inverse !== -want) {
            failures.push(
              `${l.file}:${l.line}: ${l.a} ${l.op} ${l.b} (got ${signToOp(got)}, inverse ${signToOp(inverse)})`,
            );
          }
        }
      }
      expect(failures).toEqual([]);
      expect(checked).toBeGreaterThan(0);
      const expected = EXPECTED_INVALID[eco];
      expect(invalidLines).toBe(expected?.lines ?? 0);
      for (const v of invalidOperands) {
        const ok =
          expected !== undefined &&
          (Array.isArray(expected.operands) ? expected.operands.includes(v) : (expected.operands as RegExp).test(v));
        expect(ok, `${eco}: unexpectedly invalid ${JSON.stringify(v)}`).toBe(true);
      }
    });
  }

  it("the Maven exception list has exactly the 19 lines where Maven and osv-scalibr disagree", () => {
    expect(MAVEN_EXCEPTIONS).toHaveLength(19);
  });
});
