import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { load } from "js-yaml";
import { describe, expect, it } from "vitest";
import { cliHarness, root } from "./harness.js";
import { compileDraft07, compileSarif, compileSchema2020, errorsOf } from "../../core/test/helpers/schema.js";
import { HAS_SHARED, sharedPath } from "../../core/test/helpers/shared.js";

const demo = `oci-archive:${path.join(root, "examples/demo/demo-image.oci.tar")}`;
const demoDb = path.join(root, "examples/demo/db");
const { stowaway, work: workDir } = cliHarness("stowaway-scan-");

function scanJson(extra: string[] = []) {
  const run = stowaway(["scan", demo, "--db", demoDb, "--no-cache", "-f", "json", ...extra]);
  return { ...run, result: JSON.parse(run.stdout) };
}

interface PysecRecord {
  id: string;
  aliases?: string[];
  affected: { package: { name: string }; versions?: string[]; ranges?: { events: Record<string, string>[] }[] }[];
}

describe("stowaway scan on the demo image with the demo database", () => {
  it("finds every advisory whose own version list names an installed release (Django 3.2.0)", () => {
    const { code, result } = scanJson();
    expect(code).toBe(0);
    const django = result.findings.filter((finding: { packageName: string }) => finding.packageName === "django");
    // Independent expectation: the PyPA records themselves, where 3.2.0 is listed as affected.
    if (HAS_SHARED) {
      const dir = sharedPath("vulns/osv-pypi/django");
      const expected = new Set<string>();
      for (const file of (spawnSync("ls", [dir], { encoding: "utf8" }).stdout as string).split("\n").filter(Boolean)) {
        const record = load(readFileSync(path.join(dir, file), "utf8")) as PysecRecord;
        const listed = record.affected.some((affected) => affected.versions?.includes("3.2"));
        if (listed) expected.add(record.aliases?.find((alias) => alias.startsWith("CVE-")) ?? record.id);
      }
      expect(expected.size).toBeGreaterThan(10);
      const found = new Set(django.map((finding: { id: string }) => finding.id));
      for (const id of expected) expect(found, `missing ${id}`).toContain(id);
    }
    const first = django.find((finding: { id: string }) => finding.id === "CVE-2021-31542");
    expect(first).toMatchObject({ installedVersion: "3.2.0", fixedVersion: "3.2.1", status: "fixed", layerIndex: 2 });
    expect(first.match).toMatchObject({ type: "direct", ecosystem: "PyPI", name: "django" });
    expect(result.database.sources.length).toBeGreaterThan(0);
  });

  it("the JSON report validates against the published schema", () => {
    const { result } = scanJson(["--fail-on", "high"]);
    const validate = compileSchema2020(path.join(root, "core/schemas/scan-result.schema.json"));
    expect(validate(result), errorsOf(validate)).toBe(true);
    expect(result.policy.outcome).toBe("fail");
  });
});

describe("the gate and its exit codes", () => {
  it("--fail-on high fails (exit 1) on the demo's HIGH findings; --fail-on critical passes", () => {
    const high = stowaway(["scan", demo, "--db", demoDb, "--no-cache", "--fail-on", "high"]);
    expect(high.code).toBe(1);
    expect(high.stderr).toMatch(/policy: FAIL/);
    expect(stowaway(["scan", demo, "--db", demoDb, "--no-cache", "--fail-on", "critical"]).code).toBe(0);
  });

  it("the report filter never changes the gate, nor hides what failed it", () => {
    const run = stowaway(["scan", demo, "--db", demoDb, "--no-cache", "--fail-on", "medium", "--severity", "critical"]);
    expect(run.code).toBe(1);
    // CVE-2023-45803 is MEDIUM: below the filter, but it violates the gate, so the table lists it as a
    // row, and the policy line that failed the gate names it in full.
    expect(run.stdout).toMatch(/^.*CVE-2023-45803 +urllib3/m);
    expect(run.stdout).toMatch(/^ {2}✗ gate\.failOn: .*CVE-2023-45803 in urllib3/m);
    const open = stowaway(["scan", demo, "--db", demoDb, "--no-cache", "--severity", "critical"]);
    expect(open.stdout).not.toMatch(/CVE-2023-45803/);
  });

  it("mode: warn reports the violations and exits 0", () => {
    const policy = path.join(workDir(), "warn.yaml");
    writeFileSync(policy, "version: 1\nmode: warn\ngate:\n  failOn: high\n");
    const run = stowaway(["scan", demo, "--db", demoDb, "--no-cache", "--policy", policy]);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/policy: WARN/);
  });

  it("--mode warn turns a failing gate into a warning without a policy file", () => {
    const run = stowaway(["scan", demo, "--db", demoDb, "--no-cache", "--fail-on", "high", "--mode", "warn"]);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/policy: WARN/);
  });

  it("an exception with a reason and a future expiry lifts exactly that finding", () => {
    const policy = path.join(workDir(), "exceptions.yaml");
    writeFileSync(
      policy,
      "version: 1\ngate:\n  failOn: high\nexceptions:\n" +
        '  - id: CVE-2023-43804\n    reason: "not reachable"\n    expires: 2099-01-01\n' +
        '  - id: CVE-2023-49083\n    reason: "no PKCS7 use"\n    expires: 2099-01-01\n',
    );
    const { code, result } = scanJson(["--policy", policy]);
    expect(code).toBe(0);
    expect(
      result.policy.suppressed.map((entry: { findingId: string }) => entry.findingId.split("/")[1]).sort(),
    ).toEqual(["CVE-2023-43804", "CVE-2023-49083"]);
  });

  it("an expired exception stops applying", () => {
    const policy = path.join(workDir(), "expired.yaml");
    writeFileSync(
      policy,
      'version: 1\ngate:\n  failOn: high\nexceptions:\n  - id: CVE-2023-43804\n    reason: "old"\n    expires: 2020-01-01\n',
    );
    const run = stowaway(["scan", demo, "--db", demoDb, "--no-cache", "--policy", policy]);
    expect(run.code).toBe(1);
  });

  it("a policy error names the file and line, exit 2", () => {
    const policy = path.join(workDir(), "bad.yaml");
    writeFileSync(policy, "version: 1\ngate:\n  failOn: severe\n");
    const run = stowaway(["scan", demo, "--db", demoDb, "--no-cache", "--policy", policy]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/bad\.yaml:3/);
    expect(run.stderr.trim().split("\n")).toHaveLength(1);
  });

  it("refuses to gate without a database instead of passing an unchecked image", () => {
    const run = stowaway(["scan", demo, "--no-cache", "--fail-on", "high"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/no vulnerability database at .*stowaway db update/);
  });

  it("--baseline gates only on what is new", () => {
    const baseline = path.join(workDir(), "baseline.json");
    writeFileSync(baseline, stowaway(["scan", demo, "--db", demoDb, "--no-cache", "-f", "json"]).stdout);
    // Without the baseline the same gate fails on the demo's findings, so a pass below means "nothing new".
    expect(stowaway(["scan", demo, "--db", demoDb, "--no-cache", "--fail-on", "low"]).code).toBe(1);
    expect(
      stowaway(["scan", demo, "--db", demoDb, "--no-cache", "--fail-on", "low", "--baseline", baseline]).code,
    ).toBe(0);
  });
});

describe("one scan, every report, written before the gate exits", () => {
  it("writes all formats even when the gate fails, each valid against its official schema", () => {
    const out = (name: string) => path.join(workDir(), "reports", name);
    const formats = ["json", "sarif", "junit", "gitlab", "markdown", "html", "cyclonedx", "spdx", "table"];
    const run = stowaway([
      "scan",
      demo,
      "--db",
      demoDb,
      "--no-cache",
      "--fail-on",
      "high",
      ...formats.flatMap((format) => ["--report", `${format}=${out(`report.${format}`)}`]),
    ]);
    expect(run.code).toBe(1);
    for (const format of formats) expect(existsSync(out(`report.${format}`)), format).toBe(true);
    expect(readFileSync(out("report.junit"), "utf8")).toMatch(/<testsuites/);
    expect(readFileSync(out("report.html"), "utf8")).toMatch(/CVE-2023-43804/);
    if (!HAS_SHARED) return;
    const checks: [string, ReturnType<typeof compileDraft07>][] = [
      ["sarif", compileSarif(sharedPath("schemas/sarif/sarif-schema-2.1.0.json"))],
      ["gitlab", compileDraft07(sharedPath("schemas/gitlab/container-scanning-report-format-15.2.1.json"))],
      ["spdx", compileDraft07(sharedPath("schemas/spdx/spdx-2.3-schema.draft07.json"))],
    ];
    for (const [format, validate] of checks) {
      expect(
        validate(JSON.parse(readFileSync(out(`report.${format}`), "utf8"))),
        `${format}: ${errorsOf(validate)}`,
      ).toBe(true);
    }
  });

  it("rejects a malformed --report with a one-line error", () => {
    const run = stowaway(["scan", demo, "--db", demoDb, "--no-cache", "--report", "pdf=x.pdf"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--report "pdf=x.pdf": expected FORMAT=FILE/);
  });
});

describe("stowaway policy lint", () => {
  it("passes the example policies and fails a broken one with file:line", () => {
    for (const file of ["minimal.yaml", "strict.yaml", "with-exceptions.yaml"]) {
      const run = stowaway(["policy", "lint", path.join(root, "examples/policies", file)]);
      expect(run.code, run.stderr).toBe(0);
    }
    const broken = path.join(workDir(), "broken.yaml");
    writeFileSync(broken, "version: 1\nexceptions:\n  - id: CVE-1\n");
    const run = stowaway(["policy", "lint", broken]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/broken\.yaml:3/);
  });
});
