import { mkdtemp, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { StowawayError } from "../../src/errors.js";
import { PolicyError } from "../../src/policy/errors.js";
import { lintPolicy } from "../../src/policy/lint.js";
import { loadPolicy } from "../../src/policy/load.js";
import { parsePolicy } from "../../src/policy/parse.js";
import { lineOf, yamlLineMap } from "../../src/policy/yaml-lines.js";

function errorOf(text: string, file = "policy.yaml"): string {
  try {
    parsePolicy(text, file);
  } catch (error) {
    expect(error).toBeInstanceOf(PolicyError);
    expect(error).toBeInstanceOf(StowawayError);
    expect((error as Error).message).not.toContain("\n");
    return (error as Error).message;
  }
  throw new Error("expected a PolicyError");
}

describe("policy parsing", () => {
  it("fills in defaults and keeps dates as written", () => {
    const policy = parsePolicy(
      "version: 1\nexceptions:\n  - id: CVE-1\n    reason: r\n    expires: 2027-06-30\n",
      "p.yaml",
    );
    expect(policy).toEqual({
      version: 1,
      mode: "enforce",
      requireExpiry: true,
      expiryWarningDays: 14,
      gate: { failOn: "none", onlyFixed: false },
      image: {},
      database: {},
      report: {},
      exceptions: [{ id: "CVE-1", reason: "r", expires: "2027-06-30", origin: "p.yaml:3" }],
      source: "p.yaml",
    });
  });

  it("names file, line and field for a bad value", () => {
    expect(errorOf("version: 1\nmode: enforce\ngate:\n  failOn: hgih\n")).toBe(
      "policy.yaml:4: gate.failOn: must be one of critical, high, medium, low, none",
    );
  });

  it("names an unknown field on its own line", () => {
    expect(errorOf("version: 1\ngate:\n  failOn: high\n  onlyfixed: true\n")).toBe(
      "policy.yaml:4: gate.onlyfixed: is not a known field",
    );
  });

  it("requires expires unless requireExpiry is false, pointing at the exception", () => {
    const text = "version: 1\nexceptions:\n  - id: CVE-2021-23337\n    reason: not reachable\n";
    expect(errorOf(text)).toBe("policy.yaml:3: exceptions[0].expires: is required");
    expect(parsePolicy(`requireExpiry: false\n${text}`, "p.yaml").exceptions).toHaveLength(1);
  });

  it("requires a reason", () => {
    expect(errorOf("version: 1\nexceptions:\n  - id: CVE-1\n    expires: 2027-01-01\n")).toBe(
      "policy.yaml:3: exceptions[0].reason: is required",
    );
  });

  it("rejects impossible dates on the line of the date", () => {
    expect(
      errorOf("version: 1\nexceptions:\n  - id: CVE-1\n    reason: r\n\n    # comment\n    expires: 2027-02-30\n"),
    ).toBe("policy.yaml:7: exceptions[0].expires: must be a date written YYYY-MM-DD");
  });

  it("places errors inside flow sequences and sequences at the parent's indent", () => {
    expect(errorOf("version: 1\ngate:\n  deny: [CVE-1, 7]\n")).toBe("policy.yaml:3: gate.deny[1]: must be string");
    expect(
      errorOf(
        "version: 1\nrequireExpiry: false\nexceptions:\n- id: A\n  reason: r\n- id: B\n  reason: r\n  color: red\n",
      ),
    ).toBe("policy.yaml:8: exceptions[1].color: is not a known field");
  });

  it("reports YAML syntax errors with their line", () => {
    expect(errorOf('version: 1\ngate:\n  failOn: "high\n  onlyFixed: true\n')).toMatch(
      /^policy\.yaml:\d+: \(syntax\): /,
    );
    expect(errorOf("version: 1\ngate:\n  failOn: high\n  failOn: low\n")).toBe(
      "policy.yaml:4: (syntax): duplicated mapping key",
    );
  });

  it("rejects the wrong version and an empty file", () => {
    expect(errorOf("version: 2\n")).toBe("policy.yaml:1: version: must be 1");
    expect(errorOf("")).toBe("policy.yaml:1: (document): must be object");
  });

  it("says how many more problems there are", () => {
    expect(errorOf("version: 1\nmode: loud\ngate:\n  failOn: hgih\n")).toBe(
      'policy.yaml:2: mode: must be one of enforce, warn (and 1 more problem; run "stowaway policy lint policy.yaml")',
    );
  });
});

describe("yamlLineMap", () => {
  it("maps nested keys, sequence items, flow items and skips block scalars", () => {
    const map = yamlLineMap(
      [
        "a:", // 1
        "  b: |", // 2
        "    text: not a key", // 3
        "  c:", // 4
        "    - x", // 5
        "    - k: 1", // 6
        "      j: [p, {q: 1}]", // 7
        '"quoted key": 2 # comment', // 8
      ].join("\n"),
    );
    expect(lineOf(map, "/a/b")).toBe(2);
    expect(map.has("/a/b/text")).toBe(false);
    expect(lineOf(map, "/a/c/0")).toBe(5);
    expect(lineOf(map, "/a/c/1/k")).toBe(6);
    expect(lineOf(map, "/a/c/1/j/1")).toBe(7);
    expect(lineOf(map, "/quoted key")).toBe(8);
    expect(lineOf(map, "/a/c/1/missing/deeper")).toBe(6);
  });
});

describe("loadPolicy and lintPolicy on files", () => {
  it("loads a file and lints every problem at once", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "stowaway-policy-"));
    const good = path.join(dir, "good.yaml");
    await writeFile(
      good,
      "version: 1\ngate:\n  failOn: high\nexceptions:\n  - id: CVE-1\n    reason: r\n    expires: 2026-07-05\n",
    );
    expect((await loadPolicy(good)).gate.failOn).toBe("high");
    const lint = await lintPolicy(good, { now: new Date("2026-07-01T00:00:00Z") });
    expect(lint).toMatchObject({
      ok: true,
      errors: [],
      warnings: [`${good}:5: exception CVE-1 expires on 2026-07-05`],
    });

    const bad = path.join(dir, "bad.yaml");
    await writeFile(bad, "version: 1\nmode: loud\ngate:\n  failOn: hgih\n  maxCount: {high: -1}\n");
    expect(await lintPolicy(bad)).toEqual({
      ok: false,
      errors: [
        `${bad}:2: mode: must be one of enforce, warn`,
        `${bad}:4: gate.failOn: must be one of critical, high, medium, low, none`,
        `${bad}:5: gate.maxCount.high: must be >= 0`,
      ],
      warnings: [],
    });

    const idle = path.join(dir, "idle.yaml");
    await writeFile(idle, "version: 1\n");
    expect((await lintPolicy(idle)).warnings).toEqual([
      `${idle}: the policy has no rule that can fail (gate.failOn is none and nothing else is set)`,
    ]);
    await expect(loadPolicy(path.join(dir, "missing.yaml"))).rejects.toThrow(
      /missing\.yaml: cannot read the policy: ENOENT/,
    );
    await expect(loadPolicy("http://example.invalid/p.yaml")).rejects.toThrow(/file or an https:\/\/ URL/);
  });
});
