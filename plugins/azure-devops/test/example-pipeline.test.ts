import { readFileSync } from "node:fs";
import path from "node:path";
import { Ajv, type ValidateFunction } from "ajv";
import yaml from "js-yaml";
import { beforeAll, expect, it } from "vitest";
import { describeWithShared, sharedPath } from "../../../core/test/helpers/shared.js";
import { REPO_ROOT, TASK_SOURCE_DIR } from "./helpers/task-run.js";

interface TaskJsonInput {
  name: string;
  type: string;
  required?: boolean;
  options?: Record<string, string>;
  properties?: { EditableOptions?: string; MultiSelectFlatList?: string };
}

/**
 * The published pipeline schema lists Microsoft's tasks only; Azure generates each organization's
 * schema with its installed extensions' tasks added. This adds ours the same way, from task.json,
 * so the example's inputs are checked against the task's declared ones. Its patterns escape
 * characters JavaScript rejects in unicode mode, so they are compiled without the `u` flag.
 */
function withStowawayTask(schema: { definitions: Record<string, Record<string, unknown>> }): object {
  const task = JSON.parse(readFileSync(path.join(TASK_SOURCE_DIR, "task.json"), "utf8")) as {
    name: string;
    version: { Major: number };
    inputs: TaskJsonInput[];
  };
  const reference = `${task.name}@${task.version.Major}`;
  const inputSchema = (input: TaskJsonInput): object => {
    if (input.type === "boolean") return { type: ["boolean", "string"] };
    if (input.type === "int") return { type: ["integer", "string"] };
    const freeText = input.properties?.EditableOptions === "True" || input.properties?.MultiSelectFlatList === "True";
    if (input.type === "pickList" && !freeText) {
      return { enum: Object.keys(input.options ?? {}) };
    }
    return { type: "string" };
  };
  const entry = {
    properties: {
      task: { pattern: `^${reference}$` },
      inputs: {
        properties: Object.fromEntries(task.inputs.map((input) => [input.name, inputSchema(input)])),
        additionalProperties: false,
        required: task.inputs.filter((input) => input.required).map((input) => input.name),
      },
    },
    required: ["task", "inputs"],
  };
  const definition = schema.definitions.task as { properties: { task: { anyOf: object[] } }; anyOf: object[] };
  definition.properties.task.anyOf.push({ enum: [reference] });
  definition.anyOf.push(entry);
  return schema;
}

/** Every StowawayScan@0 step in a pipeline, wherever it sits (steps, jobs or stages). */
function stowawaySteps(node: unknown): { task?: string; inputs?: object }[] {
  if (Array.isArray(node)) return node.flatMap(stowawaySteps);
  if (node === null || typeof node !== "object") return [];
  const step = node as { task?: string; inputs?: object };
  if (step.task === "StowawayScan@0") return [step];
  return Object.values(node).flatMap(stowawaySteps);
}

// azure-pipelines.yml is the minimal form (only the image); build-and-scan.yml the richer variant.
for (const file of ["azure-pipelines.yml", "build-and-scan.yml"]) {
  describeWithShared(`examples/azure-devops/${file}`, () => {
    let validate: ValidateFunction;
    const pipeline = yaml.load(readFileSync(path.join(REPO_ROOT, "examples/azure-devops", file), "utf8"));

    beforeAll(() => {
      const schema = JSON.parse(
        readFileSync(sharedPath("schemas/azure-devops/azure-pipelines.service-schema.json"), "utf8"),
      );
      validate = new Ajv({ allErrors: false, strict: false, unicodeRegExp: false }).compile(withStowawayTask(schema));
    });

    it("is valid against the Azure Pipelines schema with the Stowaway task added", () => {
      expect(validate(pipeline), JSON.stringify(validate.errors?.slice(0, 5), null, 1)).toBe(true);
    });

    it("would be rejected with an input the task does not have", () => {
      const broken = structuredClone(pipeline);
      const step = stowawaySteps(broken)[0]!;
      step.inputs = { ...step.inputs, "fail-on": "high" };
      expect(validate(broken)).toBe(false);
    });
  });
}
