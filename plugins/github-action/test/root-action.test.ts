import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import yaml from "js-yaml";
import { describe, expect, it } from "vitest";
import { compileDraft07, errorsOf } from "../../../core/test/helpers/schema.js";
import { describeWithShared, sharedPath } from "../../../core/test/helpers/shared.js";
import { tempDir } from "../../../core/test/helpers/temp-dir.js";
import { pluginDir, root } from "./harness.js";

interface ActionFile {
  name: string;
  description: string;
  author?: string;
  branding?: object;
  inputs: Record<string, object>;
  outputs: Record<string, object>;
  runs: { using: string; main: string };
}

const rootActionFile = path.join(root, "action.yml");
const load = (file: string): ActionFile => yaml.load(readFileSync(file, "utf8")) as ActionFile;

describeWithShared("the root action.yml GitHub Marketplace lists", () => {
  it("is a valid action according to SchemaStore's github-action schema", () => {
    const validate = compileDraft07(sharedPath("schemas/schemastore/github-action.json"));
    expect(validate(load(rootActionFile)), errorsOf(validate)).toBe(true);
  });
});

describe("the root action.yml against its source, plugins/github-action/action.yml", () => {
  it("runs the committed bundle with node24, by a path the runner resolves from the repository root", () => {
    const action = load(rootActionFile);
    expect(action.runs).toEqual({ using: "node24", main: "plugins/github-action/dist/index.js" });
    expect(existsSync(path.join(root, action.runs.main))).toBe(true);
    const tracked = spawnSync("git", ["ls-files", "--error-unmatch", action.runs.main], { cwd: root });
    expect(tracked.status, "the bundle must be committed: the runner does no build").toBe(0);
  });

  it("has the same name, branding, inputs and outputs (descriptions and defaults included)", () => {
    const rootAction = load(rootActionFile);
    const source = load(path.join(pluginDir, "action.yml"));
    expect(Object.keys(rootAction.inputs)).toEqual(Object.keys(source.inputs));
    expect(rootAction.inputs).toEqual(source.inputs);
    expect(rootAction.outputs).toEqual(source.outputs);
    const { runs: _rootRuns, ...rootMeta } = rootAction;
    const { runs: _sourceRuns, ...sourceMeta } = source;
    expect(rootMeta).toEqual(sourceMeta);
  });

  it("is what scripts/root-action.mjs generates today (run `npm run build -w plugins/github-action`)", () => {
    const fresh = path.join(tempDir("stowaway-root-action-"), "action.yml");
    const run = spawnSync(process.execPath, [path.join(pluginDir, "scripts/root-action.mjs"), fresh], {
      encoding: "utf8",
    });
    expect(run.status, run.stderr).toBe(0);
    expect(readFileSync(rootActionFile, "utf8")).toBe(readFileSync(fresh, "utf8"));
  });
});
