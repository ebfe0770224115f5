import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { load, loadAll } from "js-yaml";
import { COMMON_INPUT_NAMES, inputVariable } from "@stowaway/core";
import { describe, expect, it } from "vitest";
import { describeWithShared, sharedPath } from "../../../core/test/helpers/shared.js";
import { compileDraft07 } from "../../../core/test/helpers/schema.js";
import { gitRepo, gitlabCiLocal, pluginDir, root } from "./harness.js";

type Job = { script: string[]; artifacts: { reports: Record<string, string> }; rules: { if: string }[] };

const classicFile = path.join(pluginDir, "templates/stowaway.gitlab-ci.yml");
const componentFile = path.join(pluginDir, "templates/stowaway/template.yml");
const classic = load(readFileSync(classicFile, "utf8")) as Record<string, Job>;
const [componentSpec, componentBody] = loadAll(readFileSync(componentFile, "utf8")) as [
  { spec: { inputs: Record<string, { default?: unknown }> } },
  Record<string, Job>,
];
const componentJob = componentBody["$[[ inputs.job-name ]]"]!;
const examplesDir = path.join(root, "examples/gitlab");

describeWithShared("GitLab's CI schema", () => {
  const validate = compileDraft07(sharedPath("schemas/gitlab/gitlab-ci.schema.json"));
  const valid = (doc: unknown) => {
    const ok = validate(doc);
    return ok ? "valid" : JSON.stringify(validate.errors, null, 1);
  };

  it("accepts the classic include template", () => {
    expect(valid(classic)).toBe("valid");
  });

  it("accepts the component's spec header and its body", () => {
    expect(valid(componentSpec)).toBe("valid");
    expect(valid(componentBody)).toBe("valid");
  });

  it("accepts the component as GitLab-style interpolation leaves it (gitlab-ci-local --preview)", async () => {
    const dir = gitRepo({
      "templates/stowaway/template.yml": readFileSync(componentFile, "utf8"),
      ".gitlab-ci.yml": "include:\n  - local: templates/stowaway/template.yml\n    inputs:\n      mode: warn\n",
    });
    const run = await gitlabCiLocal(dir, ["--preview"]);
    expect(run.code, run.stderr).toBe(0);
    const preview = load(run.stdout.slice(run.stdout.indexOf("---"))) as Record<string, Job & Record<string, unknown>>;
    expect(valid(preview)).toBe("valid");
    expect(preview.stowaway_scan).toMatchObject({ stage: "test", variables: { STOWAWAY_MODE: "warn" } });
    expect(JSON.stringify(preview)).not.toContain("$[[");
  });

  for (const file of readdirSync(examplesDir).filter((name) => name.endsWith(".yml"))) {
    it(`accepts examples/gitlab/${file}`, () => {
      expect(valid(load(readFileSync(path.join(examplesDir, file), "utf8")))).toBe("valid");
    });
  }
});

describe("one job, two distributions", () => {
  it("the component runs exactly the classic template's script", () => {
    expect(componentJob.script).toEqual(classic[".stowaway-scan"]!.script);
  });

  it("runs in merge request pipelines, and on branches only without an open merge request", () => {
    const rules = classic[".stowaway-scan"]!.rules.map((rule) => rule.if);
    expect(rules).toContain('$CI_PIPELINE_SOURCE == "merge_request_event"');
    expect(classic[".stowaway-scan"]!.rules).toContainEqual({
      if: "$CI_COMMIT_BRANCH && $CI_OPEN_MERGE_REQUESTS",
      when: "never",
    });
  });

  it("both publish the same reports and honour the same switches", () => {
    const base = classic[".stowaway-scan"]!;
    expect(componentJob.artifacts).toEqual(base.artifacts);
    expect(componentJob.rules).toEqual(base.rules);
    expect(base.artifacts.reports).toEqual({
      container_scanning: "gl-container-scanning-report.json",
      junit: "stowaway-reports/stowaway.junit.xml",
      cyclonedx: "stowaway-reports/stowaway.cdx.json",
    });
    expect(base.artifacts).toMatchObject({ when: "always" });
    expect(classic.stowaway_scan).toEqual({ extends: ".stowaway-scan" });
  });

  it("offers server as a component input but never the service token (inputs are pipeline text; the token is a masked variable)", () => {
    const variables = (componentJob as unknown as { variables: Record<string, string> }).variables;
    expect(variables.STOWAWAY_SERVER).toBe("$[[ inputs.server ]]");
    expect(variables.STOWAWAY_REQUIRE_SIGNATURE).toBe("$[[ inputs.require-signature ]]");
    for (const secret of ["server-token", "password", "registry-token"]) {
      expect(Object.keys(componentSpec.spec.inputs)).not.toContain(secret);
    }
    expect(Object.keys(variables)).not.toContain("STOWAWAY_SERVER_TOKEN");
  });

  it("installs the CLI version this repository releases", () => {
    const { version } = JSON.parse(readFileSync(path.join(root, "cli/package.json"), "utf8")) as { version: string };
    expect(classic[".stowaway-scan"]!.script.join("\n")).toContain(`\${STOWAWAY_VERSION:-${version}}`);
    expect(componentSpec.spec.inputs.version!.default).toBe(version);
  });

  it("maps every component input onto a STOWAWAY_ variable that `stowaway ci` or the script reads", () => {
    const script = classic[".stowaway-scan"]!.script.join("\n");
    const contract = COMMON_INPUT_NAMES.map(inputVariable);
    const variables = (componentJob as unknown as { variables: Record<string, string> }).variables;
    for (const [name, value] of Object.entries(variables)) {
      expect(value).toMatch(/^\$\[\[ inputs\.[a-z-]+ \]\]$/);
      if (!contract.includes(name)) expect(script, name).toContain(`\${${name}`);
    }
    expect(script).toContain("stowaway ci");
    const layout = ["job-name", "stage", "scanner-image"];
    for (const input of Object.keys(componentSpec.spec.inputs).filter((input) => !layout.includes(input))) {
      expect(Object.values(variables), input).toContain(`$[[ inputs.${input} ]]`);
    }
  });
});
