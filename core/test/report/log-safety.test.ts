import { describe, expect, it } from "vitest";
import { jsonLogSafe, neutralizeLog, neutralizeLogLines } from "../../src/report/escape.js";
import { renderReport, REPORT_FORMATS } from "../../src/report/formats.js";
import type { ScanResult } from "../../src/result.js";
import { HOSTILE, lineProblems, unsafeLines } from "../helpers/log-safety.js";
import { describeWithShared } from "../helpers/shared.js";
import { judgedResult } from "./fixture.js";

const ALL_HOSTILE = Object.values(HOSTILE).join(" ");

describe("the log neutraliser", () => {
  it("leaves ordinary text alone", () => {
    for (const text of ["libssl3 3.0.11-1~deb12u2", "C# and F#", "a: b::c", "see https://x.test/#frag [1]"]) {
      expect(neutralizeLog(text)).toBe(text);
    }
  });

  it("shows controls as inert escapes instead of deleting them", () => {
    expect(neutralizeLog(HOSTILE.ansi)).toBe("\\x1b[31mred\\x1b[0m");
    expect(neutralizeLog(HOSTILE.c1)).toBe("\\x9b31mcsi");
    expect(neutralizeLog(HOSTILE.cr)).toBe("over\\rwrite");
    expect(neutralizeLog("a\nb\tc\u0000d\u007f")).toBe("a\\nb\\tc\\x00d\\x7f");
    expect(neutralizeLog(HOSTILE.separator)).toBe("line\\u2028break");
    expect(neutralizeLog("abc\u202edcba")).toBe("abc\\u202edcba");
  });

  it("breaks every CI command marker with a visible backslash, wherever the platform looks for it", () => {
    expect(neutralizeLog(HOSTILE.github)).toBe("\\::error title=pwned::github-injected");
    expect(neutralizeLog(HOSTILE.githubIndented)).toBe("  \\::set-output name=x::v");
    expect(neutralizeLog(`pkg ${HOSTILE.azure}`)).toBe("pkg #\\#vso[task.setvariable variable=PWNED]azure-injected");
    expect(neutralizeLog(HOSTILE.azureFormat)).toBe("#\\#[error]azure-format-injected");
    expect(neutralizeLog(`x${HOSTILE.teamcity}`)).toBe(
      "x#\\#teamcity[buildStatus status='SUCCESS' text='teamcity-injected']",
    );
    expect(neutralizeLog("###VSO[x]")).toBe("##\\#VSO[x]");
    // U+017F (long s) upper-cases to S in .NET's case-insensitive match: any word between ## and [ counts.
    expect(neutralizeLog("##v\u017fo[task.complete]")).toBe("#\\#v\u017fo[task.complete]");
    // A text starting half-way into a marker cannot be completed by a '#' written before it.
    expect(`#${neutralizeLog("#vso[task.complete]")}`).toBe("#\\#vso[task.complete]");
  });

  it("a control hidden inside a marker does not survive as a marker once shown", () => {
    const out = neutralizeLog("#\r#vso[x] \r::error::y");
    expect(lineProblems(out)).toEqual([]);
    expect(out).toBe("#\\r#vso[x] \\r::error::y");
  });

  it("keeps line feeds in the multi-line form and neutralises each line", () => {
    const text = `first\n${HOSTILE.github}\n  ${HOSTILE.azure}\n${HOSTILE.ansi}`;
    const out = neutralizeLogLines(text);
    expect(out.split("\n")).toHaveLength(4);
    expect(unsafeLines(out)).toEqual([]);
    expect(out).toContain("\\::error title=pwned::github-injected");
  });

  it("nothing built from hostile pieces is unsafe, in either form", () => {
    expect(unsafeLines(neutralizeLog(ALL_HOSTILE))).toEqual([]);
    expect(unsafeLines(neutralizeLogLines(Object.values(HOSTILE).join("\n")))).toEqual([]);
  });
});

describe("JSON that is printed to a log", () => {
  it("parses to the identical value while no line carries a command or a raw control", () => {
    const value = {
      name: ALL_HOSTILE,
      list: [HOSTILE.azure, "###vso[", "\u0085\u2029", "##v\u017fo[x]", 'a#", "#vso['],
    };
    const json = jsonLogSafe(JSON.stringify(value, null, 2));
    expect(JSON.parse(json)).toEqual(value);
    expect(unsafeLines(json)).toEqual([]);
    expect(json).toContain("#\\u0023vso[task.setvariable");
  });
});

function hostileResult(): ScanResult {
  const result = judgedResult();
  const finding = result.findings!.find((item) => item.severity === "high")!;
  finding.summary = ALL_HOSTILE;
  finding.packageName = HOSTILE.azure;
  finding.installedVersion = HOSTILE.github;
  result.packages[0]!.name = HOSTILE.teamcity;
  result.packages[0]!.version = HOSTILE.ansi;
  result.artifact.os.prettyName = `${HOSTILE.github}\n${HOSTILE.azureFormat}`;
  result.warnings.push(`bad bytes: ${ALL_HOSTILE}`);
  return result;
}

describeWithShared("every report format printed to a log", () => {
  const result = hostileResult();

  for (const format of REPORT_FORMATS) {
    it(`${format}: no line can start a CI command or reach a terminal as a control`, () => {
      const text = renderReport(format, result);
      expect(unsafeLines(text)).toEqual([]);
    });
  }

  it("the table still shows the hostile data, recognisably", () => {
    const table = renderReport("table", result);
    expect(table).toContain("#\\#vso[task.setvariable");
    expect(table).toContain("#\\#teamcity[buildStatus");
    expect(table).toContain("\\x1b[31mred\\x1b[0m");
    expect(table).toContain("OS: \\::error title=pwned::github-injected\\n#\\#[error]");
  });

  it("JSON formats keep the exact values", () => {
    const parsed = JSON.parse(renderReport("json", result)) as ScanResult;
    expect(parsed.packages[0]!.name).toBe(HOSTILE.teamcity);
    expect(parsed.packages[0]!.version).toBe(HOSTILE.ansi);
    expect(parsed.findings!.some((finding) => finding.summary === ALL_HOSTILE)).toBe(true);
  });
});
