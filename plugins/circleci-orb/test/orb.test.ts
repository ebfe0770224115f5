import { mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { load } from "js-yaml";
import { describe, expect, it } from "vitest";
import { describeWithShared, sharedPath } from "../../../core/test/helpers/shared.js";
import { compileDraft07 } from "../../../core/test/helpers/schema.js";
import { packOrb, packOrbYaml, resolveInclude } from "../scripts/pack.js";
import { root, srcDir, tempDir } from "./harness.js";

type Param = { type: string; default?: unknown };
type Run = { name: string; command: string; environment?: Record<string, string>; when?: string };
type Step = Record<string, unknown> & { run?: Run };
interface Orb {
  version: number;
  description: string;
  display: Record<string, string>;
  commands: Record<string, { parameters: Record<string, Param>; steps: Step[] }>;
  jobs: Record<string, { parameters: Record<string, Param>; steps: Step[]; executor: string }>;
  executors: Record<string, unknown>;
  examples: Record<string, { description: string; usage: Record<string, unknown> }>;
}

const orb = packOrb(srcDir) as unknown as Orb;
const scan = orb.commands.scan!;
const runs = scan.steps.flatMap((step) => (step.run ? [step.run] : []));

describeWithShared("CircleCI's official config schema", () => {
  const validate = compileDraft07(sharedPath("schemas/schemastore/circleci-official.schema.json"));
  const errors = (doc: unknown) => (validate(doc) ? "valid" : JSON.stringify(validate.errors, null, 1));

  it("rejects SchemaStore's must-fail samples that it covers (so passing means something)", () => {
    // conflicting-resource-class and invalid-machine-executor-2 target checks this schema does not make.
    const dir = sharedPath("testvectors/schemastore-samples/circleciconfig/negative_test");
    for (const file of [
      "invalid-job-name-format.yml",
      "invalid-machine-executor-1.yml",
      "invalid-workflow-job-requires.yml",
    ]) {
      expect(validate(load(readFileSync(path.join(dir, file), "utf8"))), file).toBe(false);
    }
  });

  it("accepts the packed orb", () => {
    expect(errors(load(packOrbYaml(srcDir)))).toBe("valid");
  });

  for (const name of Object.keys(orb.examples)) {
    it(`accepts the usage of example ${name}`, () => {
      expect(errors(orb.examples[name]!.usage)).toBe("valid");
    });
  }

  for (const file of readdirSync(path.join(root, "examples/circleci"))) {
    it(`accepts examples/circleci/${file}`, () => {
      expect(errors(load(readFileSync(path.join(root, "examples/circleci", file), "utf8")))).toBe("valid");
    });
  }
});

describe("orb pack", () => {
  it("names elements after their files and lifts @orb.yml to the top", () => {
    expect(orb.version).toBe(2.1);
    expect(Object.keys(orb.commands)).toEqual(["scan"]);
    expect(Object.keys(orb.jobs)).toEqual(["scan"]);
    expect(Object.keys(orb.executors)).toEqual(["default"]);
    expect(Object.keys(orb.examples).sort()).toEqual(
      readdirSync(path.join(srcDir, "examples"))
        .map((file) => file.replace(/\.yml$/, ""))
        .sort(),
    );
    expect(orb.display.source_url).toMatch(/^https:\/\//);
    expect(orb).not.toHaveProperty("scripts");
  });

  it("inlines each script with << escaped, leaving no include behind", () => {
    const scripts = ["install", "scan", "verdict"].map((name) =>
      readFileSync(path.join(srcDir, `scripts/${name}.sh`), "utf8").replaceAll("<<", "\\<<"),
    );
    expect(runs.map((run) => run.command)).toEqual(scripts);
    // Every << left in a script is escaped, so CircleCI never takes it for a parameter.
    for (const script of scripts) expect(script).not.toMatch(/(^|[^\\])<</);
    expect(packOrbYaml(srcDir)).not.toMatch(/<<\s*include\(/);
  });

  it("refuses includes the CircleCI CLI refuses", () => {
    const dir = tempDir("stowaway-orb-src-");
    mkdirSync(path.join(dir, "scripts"));
    writeFileSync(path.join(dir, "scripts/a.sh"), "echo a\n");
    expect(resolveInclude("<<include(scripts/a.sh)>>", dir)).toBe("echo a\n");
    expect(resolveInclude("<< include(scripts/a.sh) >>", dir)).toBe("echo a\n");
    expect(() => resolveInclude("bash <<include(scripts/a.sh)>>", dir)).toThrow(/entire string/);
    expect(() => resolveInclude("<<include(scripts/a.sh)>><<include(scripts/a.sh)>>", dir)).toThrow(/multiple/);
    expect(() => resolveInclude("<<include(scripts/missing.sh)>>", dir)).toThrow(/could not open/);
  });

  it("packs a minimal source tree the way the CLI does (non-YAML files ignored)", () => {
    const dir = tempDir("stowaway-orb-src-");
    for (const sub of ["commands", "scripts"]) mkdirSync(path.join(dir, sub));
    writeFileSync(path.join(dir, "@orb.yml"), "version: 2.1\ndescription: d\n");
    writeFileSync(path.join(dir, "commands/greet.yml"), "steps:\n  - run: <<include(scripts/hi.sh)>>\n");
    writeFileSync(path.join(dir, "scripts/hi.sh"), "cat <<EOF\nhi\nEOF\n");
    expect(packOrb(dir)).toEqual({
      version: 2.1,
      description: "d",
      commands: { greet: { steps: [{ run: "cat \\<<EOF\nhi\nEOF\n" }] } },
    });
  });
});

describe("the orb's contract", () => {
  it("passes secrets only as env_var_name parameters", () => {
    for (const [name, param] of Object.entries(scan.parameters)) {
      if (/password|token|secret/.test(name)) expect(param.type, name).toBe("env_var_name");
    }
    expect(scan.parameters["registry-password-var"]).toMatchObject({ type: "env_var_name" });
    expect(scan.parameters["registry-token-var"]).toMatchObject({ type: "env_var_name" });
  });

  it("hands every parameter to the scripts as an environment variable the scripts read", () => {
    const scanRun = runs.find((run) => run.name === "Stowaway scan")!;
    const passed = Object.values(scanRun.environment!).join("\n");
    const layout = ["version"];
    for (const name of Object.keys(scan.parameters).filter((param) => !layout.includes(param))) {
      expect(passed, name).toContain(`<< parameters.${name} >>`);
    }
    for (const variable of Object.keys(scanRun.environment!)) expect(scanRun.command, variable).toContain(variable);
  });

  it("stores JUnit and the reports before the verdict step fails the build", () => {
    const kinds = scan.steps.map((step) => (step.run ? step.run.name : Object.keys(step)[0]));
    expect(kinds).toEqual([
      "Install Stowaway",
      "Stowaway scan",
      "store_test_results",
      "store_artifacts",
      "Stowaway verdict",
    ]);
    expect(scan.steps[2]).toEqual({ store_test_results: { path: "<< parameters.output-dir >>/junit" } });
    expect(runs.at(-1)!.when).toBe("always");
  });

  it("the job takes the command's parameters and passes each one through", () => {
    const job = orb.jobs.scan!;
    for (const [name, param] of Object.entries(scan.parameters)) expect(job.parameters[name], name).toEqual(param);
    const invocation = job.steps.find((step) => typeof step === "object" && "scan" in step)!.scan as Record<
      string,
      string
    >;
    expect(Object.keys(invocation).sort()).toEqual(Object.keys(scan.parameters).sort());
    expect(job.steps[0]).toBe("checkout");
  });

  it("installs the CLI version this repository releases", () => {
    const { version } = JSON.parse(readFileSync(path.join(root, "cli/package.json"), "utf8")) as { version: string };
    expect(scan.parameters.version!.default).toBe(version);
    expect(readFileSync(path.join(srcDir, "scripts/install.sh"), "utf8")).toContain(`:-${version}}`);
  });
});
