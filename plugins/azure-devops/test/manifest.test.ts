import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { REPORT_FORMATS } from "@stowaway/core";
import { beforeAll, describe, expect, it } from "vitest";
import { describeWithShared, sharedPath } from "../../../core/test/helpers/shared.js";
import { AZURE_INPUT_NAMES, COMMON_INPUT_NAMES } from "../src/inputs.js";
import { outputVariableForReport } from "../src/output-names.js";
import { compileDraft04 } from "../../../core/test/helpers/schema.js";
import { PLUGIN_DIR, TASK_SOURCE_DIR } from "./helpers/task-run.js";

interface TaskInput {
  name: string;
  type: string;
  groupName?: string;
  defaultValue?: string;
  options?: Record<string, string>;
}
interface TaskJson {
  id: string;
  name: string;
  friendlyName: string;
  version: { Major: number; Minor: number; Patch: number };
  groups: { name: string }[];
  inputs: TaskInput[];
  outputVariables: { name: string }[];
  execution: Record<string, { target: string }>;
}

const taskJson = JSON.parse(readFileSync(path.join(TASK_SOURCE_DIR, "task.json"), "utf8")) as TaskJson;
const readme = readFileSync(path.join(PLUGIN_DIR, "README.md"), "utf8");

describeWithShared("task.json against the official tasks.schema.json", () => {
  const schemaFile = sharedPath("schemas/azure-devops/tasks.schema.json");
  let validate: ReturnType<typeof compileDraft04>;
  beforeAll(() => {
    validate = compileDraft04(schemaFile);
  });

  it("is valid", () => {
    expect(validate(taskJson), JSON.stringify(validate.errors, null, 1)).toBe(true);
  });

  it("is a validator that accepts the published tasks and rejects a broken one", () => {
    for (const sample of ["trivy-azure-pipelines-task.V2.task.json", "snyk-azure-pipelines-task.task.json"]) {
      const task = JSON.parse(readFileSync(sharedPath("testvectors/azure-devops-task-json", sample), "utf8"));
      expect(validate(task), sample).toBe(true);
    }
    const broken = structuredClone(taskJson);
    broken.inputs[0]!.name = "fail-on";
    expect(validate(broken)).toBe(false);
    const unknownHandler = { ...structuredClone(taskJson), execution: { Node22: { target: "dist/index.js" } } };
    expect(validate(unknownHandler)).toBe(false);
  });
});

describe("task.json contents", () => {
  it("runs on the Node20_1 and Node24 handlers, both pointing at the bundle", () => {
    expect(Object.keys(taskJson.execution).sort()).toEqual(["Node20_1", "Node24"]);
    for (const handler of Object.values(taskJson.execution)) expect(handler.target).toBe("dist/index.js");
    expect(taskJson.friendlyName.length).toBeLessThanOrEqual(40);
  });

  it("offers every common input under its camelCase name, plus the Azure-only ones, each in a declared group", () => {
    const names = taskJson.inputs.map((input) => input.name).sort();
    expect(names).toEqual([...Object.keys(COMMON_INPUT_NAMES), ...AZURE_INPUT_NAMES].sort());
    const groups = new Set(taskJson.groups.map((group) => group.name));
    expect([...groups].sort()).toEqual(["database", "gate", "image", "registry", "reports"]);
    for (const input of taskJson.inputs) expect(groups, input.name).toContain(input.groupName);
  });

  it("takes registry credentials only from a dockerregistry service connection", () => {
    const connection = taskJson.inputs.find((input) => input.type.startsWith("connectedService:"));
    expect(connection).toMatchObject({
      name: "dockerRegistryServiceConnection",
      type: "connectedService:dockerregistry",
    });
    for (const secretish of ["username", "password", "registryToken"]) {
      expect(taskJson.inputs.map((input) => input.name)).not.toContain(secretish);
    }
  });

  it("leaves the gate inputs empty by default so that a policy file is not overridden", () => {
    for (const name of ["failOn", "mode", "severity"]) {
      expect(taskJson.inputs.find((input) => input.name === name)?.defaultValue, name).toBe("");
    }
  });

  it("declares the outcome, the counts and a path variable for every report format", () => {
    const declared = taskJson.outputVariables.map((variable) => variable.name).sort();
    const expected = [
      "outcome",
      "critical",
      "high",
      "medium",
      "low",
      "negligible",
      "unknown",
      "total",
      ...REPORT_FORMATS.map(outputVariableForReport),
    ].sort();
    expect(declared).toEqual(expected);
  });

  it("offers in the reports picker only formats the core writes", () => {
    const reports = taskJson.inputs.find((input) => input.name === "reports")!;
    for (const format of Object.keys(reports.options ?? {})) expect(REPORT_FORMATS).toContain(format);
  });
});

describe("vss-extension.json", () => {
  const manifest = JSON.parse(readFileSync(path.join(PLUGIN_DIR, "vss-extension.json"), "utf8")) as {
    manifestVersion: number;
    files: { path: string }[];
    contributions: { type: string; targets: string[]; properties: { name: string } }[];
    content: { details: { path: string } };
  };

  it("contributes the task folder it packages", () => {
    expect(manifest.manifestVersion).toBe(1);
    const [task, ...more] = manifest.contributions;
    expect(more).toEqual([]);
    expect(task).toMatchObject({ type: "ms.vss-distributed-task.task", targets: ["ms.vss-distributed-task.tasks"] });
    expect(manifest.files.map((file) => file.path)).toContain(task!.properties.name);
    expect(existsSync(path.join(PLUGIN_DIR, task!.properties.name, "task.json"))).toBe(true);
    expect(existsSync(path.join(PLUGIN_DIR, manifest.content.details.path))).toBe(true);
  });
});

describe("README", () => {
  it("documents every input with its common name, and every output variable", () => {
    for (const [taskName, commonName] of Object.entries(COMMON_INPUT_NAMES)) {
      expect(readme, taskName).toMatch(new RegExp(`\\| \`${taskName}\` \\| \`${commonName}\` \\|`));
    }
    for (const name of AZURE_INPUT_NAMES) expect(readme, name).toMatch(new RegExp(`\\| \`${name}\` \\| — \\|`));
    for (const variable of taskJson.outputVariables) expect(readme, variable.name).toContain(`\`${variable.name}\``);
  });
});
