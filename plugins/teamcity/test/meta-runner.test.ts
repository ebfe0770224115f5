import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseCommonInputs } from "@stowaway/core";
import xml2js from "xml2js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { envName } from "../src/inputs.js";
import { DEMO_DB, DEMO_IMAGE, ROOT } from "./demo.js";
import { parseOutput } from "./service-message-parser.js";

const META_RUNNER = path.join(ROOT, "plugins/teamcity/meta-runners/Stowaway_Scan.xml");
const ENTRY = path.join(ROOT, "plugins/teamcity/dist/main.js");

interface Param {
  $: { name: string; value?: string; spec?: string };
  _?: string;
}
interface MetaRunner {
  "meta-runner": {
    $: { name: string };
    settings: [
      {
        parameters: [{ param: Param[] }];
        "build-runners": [{ runner: [{ $: { type: string }; parameters: [{ param: Param[] }] }] }];
      },
    ];
  };
}

let definition: MetaRunner;
let params: Param[];
const work = mkdtempSync(path.join(tmpdir(), "stowaway-metarunner-"));

beforeAll(async () => {
  definition = (await xml2js.parseStringPromise(readFileSync(META_RUNNER, "utf8"))) as MetaRunner;
  params = definition["meta-runner"].settings[0].parameters[0].param;
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Every input name parseCommonInputs reads, found by asking it rather than by listing them here. */
function commonInputNames(): Set<string> {
  const names = new Set<string>();
  parseCommonInputs(
    (name) => {
      names.add(name);
      return name === "image" ? "x" : undefined;
    },
    { outputDir: "." },
  );
  return names;
}

describe("meta-runner Stowaway_Scan.xml", () => {
  it("declares every common input as an env.STOWAWAY_* parameter with a spec type", () => {
    const declared = new Map(params.map((param) => [param.$.name, param]));
    for (const input of commonInputNames()) {
      const param = declared.get(`env.${envName(input)}`);
      expect(param, input).toBeDefined();
      expect(param!.$.spec).toMatch(/^(text|password|checkbox|select) /);
    }
    for (const secret of ["env.STOWAWAY_PASSWORD", "env.STOWAWAY_REGISTRY_TOKEN", "env.STOWAWAY_SERVER_TOKEN"]) {
      expect(declared.get(secret)!.$.spec).toMatch(/^password /);
    }
    expect(declared.get("env.STOWAWAY_IMAGE")!.$.spec).toContain("validationMode='not_empty'");
    for (const checkbox of ["ONLY_FIXED", "REQUIRE_SIGNATURE", "OFFLINE", "INSECURE"]) {
      expect(declared.get(`env.STOWAWAY_${checkbox}`)!.$.spec).toMatch(/^checkbox .*checkedValue='true'/);
    }
  });

  it("runs only the configured command: no user value is spliced into the script", () => {
    const runner = definition["meta-runner"].settings[0]["build-runners"][0].runner[0];
    expect(runner.$.type).toBe("simpleRunner");
    const script = runner.parameters[0].param.find((p) => p.$.name === "script.content")!._!;
    const references = [...script.matchAll(/%([^%\s]+)%/g)].map((match) => match[1]);
    expect(references).toEqual(["stowaway.command"]);
  });

  const built = existsSync(ENTRY);
  it.skipIf(!built)("runs end to end as TeamCity would (script with %params% resolved, env.* as environment)", () => {
    const runner = definition["meta-runner"].settings[0]["build-runners"][0].runner[0];
    const script = runner.parameters[0].param
      .find((p) => p.$.name === "script.content")!
      ._!.replace("%stowaway.command%", `node '${ENTRY}'`);
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: work };
    for (const param of params) {
      if (param.$.name.startsWith("env.")) env[param.$.name.slice(4)] = param.$.value ?? "";
    }
    Object.assign(env, {
      STOWAWAY_IMAGE: DEMO_IMAGE,
      STOWAWAY_DB: DEMO_DB,
      STOWAWAY_FAIL_ON: "high",
      STOWAWAY_OUTPUT_DIR: path.join(work, "reports"),
      STOWAWAY_PASSWORD: "hunter2'$(id)",
      STOWAWAY_USERNAME: "robot",
    });
    const run = spawnSync("sh", ["-c", script], { env, cwd: work, encoding: "utf8" });
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    const { messages, other } = parseOutput(run.stdout);
    expect(other).toEqual([]);
    expect(messages.filter((m) => m.name === "buildProblem").map((m) => m.attributes.identity)).toEqual([
      "stowaway_gate_failOn",
    ]);
    expect(
      messages.filter((m) => m.name === "publishArtifacts").map((m) => path.basename(m.value!.split(" => ")[0]!)),
    ).toEqual(["stowaway.json", "stowaway.html", "stowaway.sarif", "stowaway-outcome.json"]);
    expect(run.stdout).not.toContain("hunter2");
  });
  if (!built) it.skip(`end-to-end run (skipped: ${ENTRY} is missing; run npm run build first)`, () => {});
});

describe("examples/teamcity/.teamcity/settings.kts", () => {
  it("uses the meta-runner by its id and only parameters it declares", () => {
    const settings = readFileSync(path.join(ROOT, "examples/teamcity/.teamcity/settings.kts"), "utf8");
    const step = settings.slice(settings.indexOf('type = "Stowaway_Scan"'));
    expect(path.basename(META_RUNNER, ".xml")).toBe("Stowaway_Scan");
    const used = [...step.slice(0, step.indexOf("}")).matchAll(/^\s+param\("([^"]+)"/gm)].map((m) => m[1]!);
    expect(used).toContain("env.STOWAWAY_IMAGE");
    const declared = new Set(params.map((param) => param.$.name));
    for (const name of used) expect(declared.has(name), name).toBe(true);
    // The minimal form: only the image (docs/ci-contract.md's one default gate does the rest).
    expect(used).toEqual(["env.STOWAWAY_IMAGE"]);
    const readme = readFileSync(path.join(ROOT, "examples/teamcity/README.md"), "utf8");
    expect(readme).toContain('param("metricKey", "stowaway.critical")');
  });
});
