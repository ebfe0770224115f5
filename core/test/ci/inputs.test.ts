import { describe, expect, it } from "vitest";
import {
  COMMON_INPUT_NAMES,
  DEFAULT_FAIL_ON,
  envInputs,
  inputVariable,
  maskSecrets,
  outcomeExitCode,
  parseCommonInputs,
  secretValues,
  splitList,
} from "../../src/index.js";

describe("the CI contract's inputs", () => {
  it("reads every common input from STOWAWAY_* variables", () => {
    const env = {
      STOWAWAY_IMAGE: " registry.example/app:1 ",
      STOWAWAY_FAIL_ON: "HIGH",
      STOWAWAY_REPORTS: "sarif,\njunit",
      STOWAWAY_DB_MIRROR: "https://a.example, https://b.example",
      STOWAWAY_DB_MAX_AGE: "36h",
      STOWAWAY_OFFLINE: "yes",
      STOWAWAY_IGNORE_FILES: "dir with space/.trivyignore\n.trivyignore.yaml",
      STOWAWAY_OUTPUT_DIR: "out",
    };
    const inputs = parseCommonInputs(envInputs(env), { outputDir: "default-out" });
    expect(inputs).toMatchObject({
      image: "registry.example/app:1",
      failOn: "high",
      reports: ["json", "sarif", "junit"],
      dbMirrors: ["https://a.example", "https://b.example"],
      dbMaxAgeMs: 36 * 3_600_000,
      offline: true,
      ignoreFiles: ["dir with space/.trivyignore", ".trivyignore.yaml"],
      outputDir: "out",
    });
    expect(inputVariable("registry-token")).toBe("STOWAWAY_REGISTRY_TOKEN");
    expect(COMMON_INPUT_NAMES.map(inputVariable)).toContain("STOWAWAY_CA_FILE");
  });

  it("defaults: reports from the caller, gate critical (applied by runCi), no max-age override", () => {
    const inputs = parseCommonInputs(envInputs({ STOWAWAY_IMAGE: "a" }), {
      outputDir: "o",
      reports: ["json", "sarif"],
    });
    expect(inputs.reports).toEqual(["json", "sarif"]);
    expect(inputs.failOn).toBeUndefined();
    expect(inputs.dbMaxAgeMs).toBeUndefined();
    expect(DEFAULT_FAIL_ON).toBe("critical");
  });

  it("names the bad input and what to do, in one line", () => {
    expect(() =>
      parseCommonInputs(envInputs({ STOWAWAY_IMAGE: "a", STOWAWAY_DB_MAX_AGE: "soon" }), { outputDir: "o" }),
    ).toThrow('input db-max-age "soon" is not a duration; use e.g. 7d, 36h, 90m, 2w');
    expect(() =>
      parseCommonInputs(envInputs({ STOWAWAY_IMAGE: "a", STOWAWAY_OFFLINE: "maybe" }), { outputDir: "o" }),
    ).toThrow('input offline: "maybe" is not a boolean; use true or false');
  });

  it("one splitter: commas and newlines, items trimmed, empties dropped", () => {
    expect(splitList(" a ,b\n\n c d ,")).toEqual(["a", "b", "c d"]);
    expect(splitList(undefined)).toEqual([]);
  });

  it("masks every secret value with one placeholder", () => {
    const secrets = secretValues({ password: "p@ss", registryToken: "tok" });
    expect(secrets).toEqual(["p@ss", "tok"]);
    expect(maskSecrets("login p@ss then tok and p@ss", secrets)).toBe("login *** then *** and ***");
  });

  it("exit codes: 0 pass and warn, 1 fail, 2 unchecked", () => {
    expect(["pass", "warn", "fail", "unchecked"].map((o) => outcomeExitCode(o as never))).toEqual([0, 0, 1, 2]);
  });
});
