import { readFileSync } from "node:fs";
import { expect, it } from "vitest";
import { evaluatePolicy } from "../../src/policy/evaluate.js";
import { policyFromFlags } from "../../src/policy/flags.js";
import {
  parseSuppressions,
  parseOpenVex,
  parseTrivyIgnore,
  parseTrivyIgnoreYaml,
} from "../../src/policy/imports/index.js";
import { parsePolicy } from "../../src/policy/parse.js";
import { compileSchema2020, errorsOf } from "../helpers/schema.js";
import { describeWithShared, sharedPath } from "../helpers/shared.js";
import { findingOf, fixtureResult, NOW } from "./fixtures/scan-result.js";

/** The format as Trivy documents it (docs/guide/configuration/filtering.md). */
const TRIVYIGNORE = `# Accept the risk until the x/crypto upgrade lands
CVE-2024-45337 exp:2026-12-31

# No impact in our settings
CVE-2023-45288

CVE-2025-46653 exp:2026-06-30 # expired yesterday
`;

const TRIVYIGNORE_YAML = `vulnerabilities:
  - id: CVE-2023-39325
    purls:
      - "pkg:golang/golang.org/x/net@v0.15.0"
    statement: HTTP/2 server is not exposed
    expired_at: 2026-12-31
  - id: CVE-2016-20013
    paths:
      - "var/lib/dpkg/status"
    statement: crypt() is not used
misconfigurations:
  - id: AVD-DS-0002
`;

describeWithShared("ignore files and OpenVEX", () => {
  const result = fixtureResult();
  const openPolicy = policyFromFlags({ failOn: "low" });

  it("reads .trivyignore ids, exp: dates and comment reasons", () => {
    expect(parseTrivyIgnore(TRIVYIGNORE, ".trivyignore")).toEqual([
      {
        kind: "ignore",
        id: "CVE-2024-45337",
        source: "trivyignore",
        origin: ".trivyignore:2",
        reason: "Accept the risk until the x/crypto upgrade lands",
        expires: "2026-12-31",
      },
      {
        kind: "ignore",
        id: "CVE-2023-45288",
        source: "trivyignore",
        origin: ".trivyignore:5",
        reason: "No impact in our settings",
      },
      {
        kind: "ignore",
        id: "CVE-2025-46653",
        source: "trivyignore",
        origin: ".trivyignore:7",
        reason: "expired yesterday",
        expires: "2026-06-30",
      },
    ]);
    expect(() => parseTrivyIgnore("CVE-1 exp:2026-13-01\n", ".trivyignore")).toThrow(
      '.trivyignore:1: exp: "2026-13-01" is not a date written YYYY-MM-DD',
    );
  });

  it("applies .trivyignore; expired entries stop applying; a policy requiring expiry skips entries without one", () => {
    const entries = parseTrivyIgnore(TRIVYIGNORE, ".trivyignore");
    const verdict = evaluatePolicy(result, openPolicy, { now: NOW, suppressions: entries });
    expect(verdict.suppressed).toEqual([
      {
        findingId: findingOf(result, "CVE-2024-45337", "golang.org/x/crypto").findingId,
        source: "trivyignore",
        reason: "Accept the risk until the x/crypto upgrade lands",
        expires: "2026-12-31",
      },
      {
        findingId: findingOf(result, "CVE-2023-45288", "stdlib").findingId,
        source: "trivyignore",
        reason: "No impact in our settings",
      },
    ]);
    expect(verdict.warnings).toEqual([
      "trivyignore entry CVE-2025-46653 (.trivyignore:7) expired on 2026-06-30 and no longer applies",
    ]);
    expect(verdict.violations[0]!.findingIds).toEqual([
      findingOf(result, "CVE-2021-23337", "lodash").findingId,
      findingOf(result, "CVE-2025-46653", "formidable").findingId,
    ]);

    const strict = parsePolicy("version: 1\ngate:\n  failOn: low\n", "policy.yaml");
    const strictVerdict = evaluatePolicy(result, strict, { now: NOW, suppressions: entries });
    expect(strictVerdict.suppressed.map((entry) => entry.reason)).toEqual([
      "Accept the risk until the x/crypto upgrade lands",
    ]);
    expect(strictVerdict.warnings).toContain(
      "trivyignore entry CVE-2023-45288 (.trivyignore:5) has no expiry and the policy requires one (requireExpiry), so it does not apply",
    );
  });

  it("reads .trivyignore.yaml with purls and paths", () => {
    const entries = parseTrivyIgnoreYaml(TRIVYIGNORE_YAML, ".trivyignore.yaml");
    expect(entries).toEqual([
      {
        kind: "ignore",
        id: "CVE-2023-39325",
        source: "trivyignore.yaml",
        origin: ".trivyignore.yaml:2",
        reason: "HTTP/2 server is not exposed",
        expires: "2026-12-31",
        purls: ["pkg:golang/golang.org/x/net@v0.15.0"],
      },
      {
        kind: "ignore",
        id: "CVE-2016-20013",
        source: "trivyignore.yaml",
        origin: ".trivyignore.yaml:7",
        reason: "crypt() is not used",
        paths: ["var/lib/dpkg/status"],
      },
    ]);
    const verdict = evaluatePolicy(result, openPolicy, { now: NOW, suppressions: entries });
    expect(verdict.suppressed.map((entry) => entry.findingId)).toEqual([
      findingOf(result, "CVE-2016-20013", "libc6").findingId,
      findingOf(result, "CVE-2016-20013", "libc-bin").findingId,
      findingOf(result, "CVE-2023-39325", "golang.org/x/net").findingId,
    ]);
    const otherVersion = TRIVYIGNORE_YAML.replace("x/net@v0.15.0", "x/net@v0.16.0");
    const narrowed = evaluatePolicy(result, openPolicy, {
      now: NOW,
      suppressions: parseTrivyIgnoreYaml(otherVersion, ".trivyignore.yaml"),
    });
    expect(narrowed.suppressed).toHaveLength(2);
    expect(() => parseTrivyIgnoreYaml("vulnerabilities:\n  - id: CVE-1\n    expired_at: soon\n", "t.yaml")).toThrow(
      "t.yaml:3: vulnerabilities[0].expired_at: must be a date written YYYY-MM-DD",
    );
  });

  it("Trivy's OpenVEX fixture suppresses the OPA finding through its subcomponent purl", () => {
    const file = sharedPath("testvectors/scanner-outputs/trivy/openvex.json");
    const statements = parseSuppressions(readFileSync(file, "utf8"), file);
    const verdict = evaluatePolicy(result, openPolicy, { now: NOW, suppressions: statements });
    expect(verdict.suppressed).toEqual([
      {
        findingId: findingOf(result, "CVE-2022-23628", "github.com/open-policy-agent/opa").findingId,
        source: "openvex",
        reason: `vulnerable_code_not_in_execute_path: The vulnerable code isn't called (${file} statements[0])`,
      },
    ]);
  });

  it("Canonical's OpenVEX document for CVE-2016-20013 parses and does not touch Debian packages", () => {
    const file = sharedPath("vulns/ubuntu-vex/cve/2016/CVE-2016-20013.json");
    const text = readFileSync(file, "utf8");
    const validate = compileSchema2020(sharedPath("schemas/openvex/openvex_json_schema.json"));
    expect(validate(JSON.parse(text)), errorsOf(validate)).toBe(true);
    const statements = parseOpenVex(text, file);
    expect(statements.map((statement) => statement.status)).toEqual(["affected", "not_affected"]);
    expect(statements[1]!.ids).toContain("CVE-2016-20013");
    const verdict = evaluatePolicy(result, openPolicy, { now: NOW, suppressions: statements });
    expect(verdict.suppressed).toEqual([]);
  });

  it("the latest statement about a product decides; documents are checked against the OpenVEX rules", () => {
    const libc6 = result.packages.find((pkg) => pkg.name === "libc6")!;
    const doc = {
      "@context": "https://openvex.dev/ns/v0.2.0",
      "@id": "https://example.com/vex/acme-shop-1",
      author: "Acme security team",
      timestamp: "2026-06-01T00:00:00Z",
      version: 1,
      statements: [
        {
          vulnerability: { name: "CVE-2016-20013" },
          products: [{ "@id": "pkg:oci/shop", subcomponents: [{ "@id": "pkg:deb/debian/libc6" }] }],
          status: "not_affected",
          justification: "vulnerable_code_not_in_execute_path",
          timestamp: "2026-06-01T00:00:00Z",
        },
        {
          vulnerability: { name: "CVE-2016-20013" },
          products: [{ "@id": "pkg:oci/shop", subcomponents: [{ "@id": libc6.purl }] }],
          status: "affected",
          action_statement: "Upgrade when Debian ships a fix",
          timestamp: "2026-06-15T09:00:00+02:00",
        },
      ],
    };
    const validate = compileSchema2020(sharedPath("schemas/openvex/openvex_json_schema.json"));
    expect(validate(doc), errorsOf(validate)).toBe(true);
    const both = parseOpenVex(JSON.stringify(doc), "acme.vex.json");
    expect(evaluatePolicy(result, openPolicy, { now: NOW, suppressions: both }).suppressed).toEqual([]);
    const onlyFirst = parseOpenVex(JSON.stringify({ ...doc, statements: [doc.statements[0]] }), "acme.vex.json");
    expect(evaluatePolicy(result, openPolicy, { now: NOW, suppressions: onlyFirst }).suppressed).toEqual([
      {
        findingId: findingOf(result, "CVE-2016-20013", "libc6").findingId,
        source: "openvex",
        reason: "vulnerable_code_not_in_execute_path (acme.vex.json statements[0])",
      },
    ]);

    const broken = { ...doc, statements: [{ ...doc.statements[0], status: "mostly_fine" }] };
    expect(validate(broken)).toBe(false);
    expect(() => parseOpenVex(JSON.stringify(broken), "acme.vex.json")).toThrow(
      "acme.vex.json: statements[0].status: must be one of not_affected, affected, fixed, under_investigation",
    );
    const unjustified = { ...doc, statements: [{ ...doc.statements[0], justification: undefined }] };
    expect(validate(JSON.parse(JSON.stringify(unjustified)))).toBe(false);
    expect(() => parseOpenVex(JSON.stringify(unjustified), "acme.vex.json")).toThrow(
      "acme.vex.json: statements[0]: a not_affected statement needs a justification or an impact_statement",
    );
  });
});
