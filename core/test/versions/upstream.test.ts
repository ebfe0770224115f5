import { readFileSync } from "node:fs";
import { expect, it } from "vitest";
import {
  apkCompareRaw,
  compareVersions,
  InvalidVersionError,
  isValidApkVersion,
  isValidVersion,
  rpmvercmp,
} from "../../src/versions/index.js";
import { describeWithShared, sharedPath } from "../helpers/shared.js";
import { readJson, readTriples, signToOp, VECTORS } from "./corpus.js";

// apk-tools, dpkg and rpm vectors are GPL: read in place from ../shared, never copied here.
describeWithShared("apk-tools test/unit/version.data", () => {
  const lines = readFileSync(sharedPath(VECTORS, "apk/apk-tools-version.data"), "utf8").split("\n");

  it("every ordering, fuzzy-match and validity line holds", () => {
    const failures: string[] = [];
    let count = 0;
    lines.forEach((raw, i) => {
      const line = raw.replace(/#.*/, "").trim();
      if (line === "") return;
      count++;
      const fields = line.split(/\s+/);
      if (fields.length === 1) {
        // A bare version must be valid; "!v" must be rejected.
        const negate = fields[0]!.startsWith("!");
        const v = negate ? fields[0]!.slice(1) : fields[0]!;
        if (isValidApkVersion(v) === negate) failures.push(`${i + 1}: ${raw}`);
        if (!negate && !isValidVersion("Alpine", v)) failures.push(`${i + 1}: ${raw} (isValidVersion)`);
        return;
      }
      const [a, rawOp, b] = fields as [string, string, string];
      // "!op" negates; "~" asks for apk's fuzzy (prefix) match, "<~"/">~" its ordering.
      const negate = rawOp.startsWith("!");
      const op = negate ? rawOp.slice(1) : rawOp;
      const fuzzy = op.includes("~");
      const want = op.replace("~", "") || "=";
      const got = signToOp(apkCompareRaw(a, b, fuzzy));
      if ((got === want) === negate) failures.push(`${i + 1}: ${raw} (got ${got})`);
      if (!fuzzy && !negate) {
        // The public API must agree on well-formed pairs and refuse malformed ones.
        if (isValidApkVersion(a) && isValidApkVersion(b)) {
          if (signToOp(compareVersions("Alpine:v3.19", a, b)) !== want)
            failures.push(`${i + 1}: ${raw} (compareVersions)`);
        } else {
          expect(() => compareVersions("Alpine", a, b)).toThrow(InvalidVersionError);
        }
      }
    });
    expect(failures).toEqual([]);
    expect(count).toBe(785);
  });
});

describeWithShared("dpkg scripts/t/Dpkg_Version.t vectors", () => {
  it("all 43 comparisons", () => {
    const rows = readTriples("dpkg/dpkg-version-compare.txt", / /);
    const failures = rows
      .filter((r) => compareVersions("Debian", r.a, r.b) !== r.want)
      .map((r) => `${r.line}: ${r.a} ${r.b} ${r.want}`);
    expect(failures).toEqual([]);
    expect(rows).toHaveLength(43);
  });
});

describeWithShared("rpm tests/rpmvercmp.at vectors", () => {
  it("all rpmvercmp cases, and the same through compareVersions for Red Hat", () => {
    const rows = readTriples("rpm/rpmvercmp.tsv", /\t/);
    const failures: string[] = [];
    for (const r of rows) {
      if (rpmvercmp(r.a, r.b) !== r.want) failures.push(`${r.line}: rpmvercmp(${r.a}, ${r.b}) != ${r.want}`);
      // These strings have no '-' or epoch, so EVR comparison is plain rpmvercmp.
      if (
        !r.a.includes("-") &&
        !r.b.includes("-") &&
        compareVersions("Red Hat:enterprise_linux:9", r.a, r.b) !== r.want
      ) {
        failures.push(`${r.line}: compareVersions(${r.a}, ${r.b}) != ${r.want}`);
      }
    }
    expect(failures).toEqual([]);
    expect(rows.length).toBeGreaterThan(80);
  });
});

describeWithShared("pypa/packaging PEP 440 vectors", () => {
  const data = readJson<{ versions_sorted: string[]; invalid: string[]; normalized: [string, string][] }>(
    "pypi-packaging/pep440-vectors.json",
  );

  it("versions_sorted is strictly ascending under every pair", () => {
    const v = data.versions_sorted;
    const failures: string[] = [];
    for (let i = 0; i < v.length; i++) {
      for (let j = 0; j < v.length; j++) {
        const want = Math.sign(i - j);
        if (compareVersions("PyPI", v[i]!, v[j]!) !== want) failures.push(`${v[i]} vs ${v[j]}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it("rejects the invalid strings", () => {
    expect(data.invalid.filter((v) => isValidVersion("PyPI", v))).toEqual([]);
  });

  it("a version equals its normalised form", () => {
    expect(data.normalized.filter(([raw, norm]) => compareVersions("PyPI", raw, norm) !== 0)).toEqual([]);
  });
});

type Case = unknown[];
const isLoose = (opt: unknown) =>
  opt === true || (typeof opt === "object" && opt !== null && (opt as { loose?: boolean }).loose === true);

describeWithShared("node-semver fixtures (comparison and validity)", () => {
  // The range, increment, truncation and intersection fixtures test node-semver features the
  // comparator does not wrap; they are not run here.
  const cases = (name: string) => readJson<{ cases: Case[] }>(`npm-semver/${name}.json`).cases;

  it("comparisons.json: first > second; loose-only strings are refused in strict mode", () => {
    const failures: string[] = [];
    for (const [a, b, opt] of cases("comparisons") as [string, string, unknown][]) {
      if (isValidVersion("npm", a) && isValidVersion("npm", b)) {
        if (compareVersions("npm", a, b) !== 1 || compareVersions("npm", b, a) !== -1) failures.push(`${a} > ${b}`);
      } else if (!isLoose(opt)) {
        failures.push(`${a} / ${b} rejected without loose`);
      }
    }
    expect(failures).toEqual([]);
  });

  it("equality.json", () => {
    const failures: string[] = [];
    for (const [a, b, opt] of cases("equality") as [string, string, unknown][]) {
      if (isValidVersion("npm", a) && isValidVersion("npm", b)) {
        if (compareVersions("npm", a, b) !== 0) failures.push(`${a} == ${b}`);
      } else if (!isLoose(opt)) {
        failures.push(`${a} / ${b} rejected without loose`);
      }
    }
    expect(failures).toEqual([]);
  });

  it("valid-versions.json and invalid-versions.json", () => {
    const valid = (cases("valid-versions") as [string][]).map(([v]) => v);
    expect(valid.filter((v) => !isValidVersion("npm", v))).toEqual([]);
    const invalid = (cases("invalid-versions") as [unknown][])
      .map(([v]) => v)
      .filter((v): v is string => typeof v === "string");
    expect(invalid.filter((v) => isValidVersion("npm", v))).toEqual([]);
  });
});
