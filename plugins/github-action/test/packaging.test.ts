import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import yaml from "js-yaml";
import { afterAll, describe, expect, it } from "vitest";
import { compileDraft07, errorsOf } from "../../../core/test/helpers/schema.js";
import { COMMON_INPUT_NAMES } from "@stowaway/core";
import { describeWithShared, sharedPath } from "../../../core/test/helpers/shared.js";
import { actionMetadata, pluginDir, root } from "./harness.js";

const scratch = mkdtempSync(path.join(os.tmpdir(), "stowaway-gha-pack-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function listFiles(dir: string, base = dir): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? listFiles(path.join(dir, entry.name), base)
      : [path.relative(base, path.join(dir, entry.name))],
  );
}

describe("the committed bundle", () => {
  it("is what the build produces today, byte for byte (rebuild and commit dist/ after changing the sources)", () => {
    const fresh = path.join(scratch, "dist");
    const build = spawnSync(process.execPath, [path.join(pluginDir, "scripts/build.mjs"), fresh], { encoding: "utf8" });
    expect(build.status, build.stderr).toBe(0);
    const committed = path.join(pluginDir, "dist");
    expect(listFiles(committed).sort()).toEqual(listFiles(fresh).sort());
    for (const file of listFiles(fresh)) {
      expect(readFileSync(path.join(committed, file)).equals(readFileSync(path.join(fresh, file))), file).toBe(true);
    }
  });

  it("is not ignored by git, so it gets committed", () => {
    for (const file of listFiles(path.join(pluginDir, "dist"))) {
      const check = spawnSync("git", ["check-ignore", "-q", path.join("plugins/github-action/dist", file)], {
        cwd: root,
      });
      // check-ignore exits 1 for "not ignored", 0 for ignored, 128 on error.
      expect(check.status, file).toBe(1);
    }
  });
});

describeWithShared("action.yml and the example workflows against SchemaStore", () => {
  it("action.yml is a valid node24 JavaScript action whose inputs match what the code reads", () => {
    const validate = compileDraft07(sharedPath("schemas/schemastore/github-action.json"));
    const action = actionMetadata() as unknown as { runs: { using: string; main: string }; outputs: object };
    expect(validate(action), errorsOf(validate)).toBe(true);
    expect(action.runs).toEqual({ using: "node24", main: "dist/index.js" });
    const common = [
      "image",
      "policy",
      "fail-on",
      "only-fixed",
      "mode",
      "reports",
      "output-dir",
      "db",
      "offline",
      "username",
      "password",
      "registry-token",
      "baseline",
      "severity",
      "ignore-files",
      "vex",
      "platform",
      "insecure",
      "ca-file",
      "cache-dir",
      "db-mirror",
      "db-max-age",
      "timeout-connect",
      "timeout-first-byte",
      "timeout-idle",
      "require-signature",
      "server",
      "server-token",
    ];
    // The action offers exactly the contract's inputs (docs/ci-contract.md), plus its own.
    expect([...COMMON_INPUT_NAMES].sort()).toEqual([...common].sort());
    const own = ["github-token", "summary", "annotations", "cache-db", "dockerfile"];
    expect(Object.keys(actionMetadata().inputs).sort()).toEqual([...common, ...own].sort());
    for (const name of Object.keys(actionMetadata().inputs)) expect(name).toMatch(/^[a-z][a-z0-9-]*$/);
  });

  it("the validator rejects SchemaStore's negative samples, so a pass means something", () => {
    const validate = compileDraft07(sharedPath("schemas/schemastore/github-action.json"));
    const dir = sharedPath("testvectors/schemastore-samples/github-action/negative_test");
    for (const file of readdirSync(dir)) {
      expect(validate(JSON.parse(readFileSync(path.join(dir, file), "utf8"))), file).toBe(false);
    }
  });

  it("every example workflow is a valid workflow that uses this action", () => {
    const validate = compileDraft07(sharedPath("schemas/schemastore/github-workflow.json"));
    const dir = path.join(root, "examples/github");
    const files = readdirSync(dir).filter((file) => file.endsWith(".yml"));
    expect(files.length).toBeGreaterThanOrEqual(3);
    for (const file of files) {
      const text = readFileSync(path.join(dir, file), "utf8");
      expect(validate(yaml.load(text)), `${file}: ${errorsOf(validate)}`).toBe(true);
      expect(text).toContain("uses: stowaway-dev/stowaway/plugins/github-action@v1");
    }
  });
});
