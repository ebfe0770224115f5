import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import yauzl from "yauzl";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bundleTask } from "../scripts/bundle.js";
import { DEMO_DB, DEMO_IMAGE, PLUGIN_DIR, REPO_ROOT, runTaskAsAgent } from "./helpers/task-run.js";

const TFX = path.join(REPO_ROOT, "node_modules/tfx-cli/_build/tfx-cli.js");

async function readZip(file: string): Promise<Map<string, Buffer>> {
  const zip = await new Promise<yauzl.ZipFile>((resolve, reject) =>
    yauzl.open(file, { lazyEntries: true }, (error, opened) => (error ? reject(error) : resolve(opened))),
  );
  const entries = new Map<string, Buffer>();
  await new Promise<void>((resolve, reject) => {
    zip.on("entry", (entry: yauzl.Entry) => {
      if (entry.fileName.endsWith("/")) return zip.readEntry();
      zip.openReadStream(entry, (error, stream) => {
        if (error) return reject(error);
        const chunks: Buffer[] = [];
        stream.on("data", (chunk: Buffer) => chunks.push(chunk));
        stream.on("end", () => {
          entries.set(entry.fileName, Buffer.concat(chunks));
          zip.readEntry();
        });
      });
    });
    zip.on("end", resolve);
    zip.on("error", reject);
    zip.readEntry();
  });
  return entries;
}

describe("the .vsix made by tfx extension create", () => {
  let scratch: string;
  let vsix: Map<string, Buffer>;
  let tfxOutput: string;

  beforeAll(async () => {
    scratch = mkdtempSync(path.join(os.tmpdir(), "stowaway-ado-vsix-"));
    // The extension is staged outside the repository so that packaging never writes into it.
    const staging = path.join(scratch, "extension");
    const taskDir = path.join(staging, "tasks/stowaway-scan");
    mkdirSync(taskDir, { recursive: true });
    for (const file of ["vss-extension.json", "README.md"])
      cpSync(path.join(PLUGIN_DIR, file), path.join(staging, file));
    cpSync(path.join(PLUGIN_DIR, "tasks/stowaway-scan/task.json"), path.join(taskDir, "task.json"));
    await bundleTask(taskDir);
    const out = path.join(scratch, "out");
    const tfx = spawnSync(
      process.execPath,
      [
        TFX,
        "extension",
        "create",
        "--root",
        staging,
        "--manifest-globs",
        "vss-extension.json",
        "--output-path",
        out,
        "--no-prompt",
      ],
      { encoding: "utf8", cwd: staging, env: { PATH: process.env.PATH, HOME: path.join(scratch, "home") } },
    );
    tfxOutput = tfx.stdout + tfx.stderr;
    expect(tfx.status, tfxOutput).toBe(0);
    const [file, ...more] = readdirSync(out);
    expect(more).toEqual([]);
    expect(file).toBe("stowaway.stowaway-scan-0.1.0.vsix");
    vsix = await readZip(path.join(out, file!));
  });

  afterAll(() => {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it("holds the manifests, the task and its self-contained runtime", () => {
    for (const entry of [
      "extension.vsixmanifest",
      "extension.vsomanifest",
      "tasks/stowaway-scan/task.json",
      "tasks/stowaway-scan/dist/index.js",
      "tasks/stowaway-scan/dist/package.json",
      "tasks/stowaway-scan/dist/sql-wasm.wasm",
      "tasks/stowaway-scan/dist/schemas/policy.schema.json",
    ]) {
      expect([...vsix.keys()], entry).toContain(entry);
    }
    const manifest = vsix.get("extension.vsixmanifest")!.toString("utf8");
    expect(manifest).toContain('Id="stowaway-scan"');
    expect(manifest).toContain('Publisher="stowaway"');
    const contributions = JSON.parse(vsix.get("extension.vsomanifest")!.toString("utf8")) as {
      contributions: { type: string; properties: { name: string } }[];
    };
    expect(contributions.contributions).toEqual([
      expect.objectContaining({ type: "ms.vss-distributed-task.task", properties: { name: "tasks/stowaway-scan" } }),
    ]);
  });

  it("runs from the task folder unpacked into an empty directory, policy file and all", () => {
    const installed = path.join(scratch, "agent/_work/_tasks/StowawayScan_04169e70/0.1.0");
    for (const [name, data] of vsix) {
      if (!name.startsWith("tasks/stowaway-scan/")) continue;
      const target = path.join(installed, name.slice("tasks/stowaway-scan/".length));
      mkdirSync(path.dirname(target), { recursive: true });
      writeFileSync(target, data);
    }
    const policy = path.join(scratch, "policy.yaml");
    writeFileSync(policy, readFileSync(path.join(REPO_ROOT, "examples/policies/minimal.yaml")));
    const run = runTaskAsAgent(installed, {
      workDir: path.join(scratch, "agent/_work/1"),
      inputs: { image: `oci-archive:${DEMO_IMAGE}`, db: DEMO_DB, policy, failOn: "high" },
    });
    expect(run.stderr).toBe("");
    expect(run.result).toBe("Failed");
    // The demo image's findings: 9 critical, 12 high (examples/demo/db).
    expect(run.outputs.critical).toBe("9");
    expect(run.outputs.high).toBe("12");
  });
});
