/**
 * One table for every CI adapter: each declares every common input of the CI contract
 * (COMMON_INPUT_NAMES, docs/ci-contract.md) in its platform's own terms, or says here why it
 * cannot. A new common input (issue 12 added the registry timeouts) fails this test until every
 * adapter offers it.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { load, loadAll } from "js-yaml";
import { describe, expect, it } from "vitest";
import { COMMON_INPUT_NAMES } from "../../core/src/ci/inputs.js";
import { COMMON_INPUT_NAMES as AZURE_NAMES } from "../../plugins/azure-devops/src/inputs.js";
import { root } from "./harness.js";

const read = (file: string): string => readFileSync(path.join(root, file), "utf8");
/** STOWAWAY_FAIL_ON -> fail-on (the inverse of inputVariable). */
const fromVariable = (variable: string): string =>
  variable
    .replace(/^STOWAWAY_/, "")
    .toLowerCase()
    .replace(/_/g, "-");
/** failOn -> fail-on. */
const kebab = (name: string): string => name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
const renamed = (names: string[], aliases: Record<string, string>): string[] =>
  names.flatMap((name) => (aliases[name] ?? name).split(","));

interface Adapter {
  name: string;
  /** The common inputs the adapter declares, by their contract names. */
  declared: () => string[];
  /** Inputs it deliberately does not offer, each with the reason. */
  exempt: Record<string, string>;
}

const ADAPTERS: Adapter[] = [
  {
    name: "GitHub Action (plugins/github-action/action.yml inputs)",
    declared: () => Object.keys((load(read("plugins/github-action/action.yml")) as { inputs: object }).inputs),
    exempt: {},
  },
  {
    name: "Azure DevOps task (task.json inputs)",
    declared: () =>
      (JSON.parse(read("plugins/azure-devops/tasks/stowaway-scan/task.json")) as { inputs: { name: string }[] }).inputs
        .map((input) => AZURE_NAMES[input.name as keyof typeof AZURE_NAMES] as string | undefined)
        .filter((name): name is string => Boolean(name)),
    exempt: {
      username: "credentials come from the Docker registry service connection (task-lib logs every input value)",
      password: "credentials come from the Docker registry service connection",
      "registry-token": "credentials come from the Docker registry service connection",
    },
  },
  {
    name: "GitLab template and component (the README's variable table)",
    declared: () => {
      const table = read("plugins/gitlab-ci/README.md")
        .split("\n")
        .filter((line) => line.startsWith("|"));
      return [...table.join("\n").matchAll(/`(STOWAWAY_[A-Z_]+)`/g)].map((match) => fromVariable(match[1]!));
    },
    exempt: { "output-dir": "fixed to stowaway-reports: the job's artifacts: and reports: paths name it" },
  },
  {
    name: "CircleCI orb (scan command parameters)",
    declared: () =>
      renamed(
        Object.keys((load(read("plugins/circleci-orb/src/commands/scan.yml")) as { parameters: object }).parameters),
        {
          "registry-username": "username",
          "registry-password-var": "password",
          "registry-token-var": "registry-token",
          "server-token-var": "server-token",
        },
      ),
    exempt: {},
  },
  {
    name: "TeamCity meta-runner (env.STOWAWAY_* parameters)",
    declared: () =>
      [...read("plugins/teamcity/meta-runners/Stowaway_Scan.xml").matchAll(/name="env\.(STOWAWAY_[A-Z_]+)"/g)].map(
        (match) => fromVariable(match[1]!),
      ),
    exempt: {},
  },
  {
    name: "Bamboo specs (plan variables the scan task reads)",
    declared: () => {
      const spec = load(read("plugins/bamboo/bamboo-specs/bamboo.yml")) as Record<
        string,
        { tasks: { script?: { scripts: string[] } }[] }
      >;
      const script = spec["Image scan"]!.tasks.map((task) => task.script?.scripts.join("\n") ?? "").join("\n");
      return renamed(
        [...script.matchAll(/\$\{bamboo_stowaway_([a-z_]+)/g)].map((match) => match[1]!.replace(/_/g, "-")),
        {
          "registry-user": "username",
          "registry-password": "password",
          "registry-secret": "registry-token",
          "server-secret": "server-token",
        },
      );
    },
    exempt: { "output-dir": "fixed to stowaway-reports: the artifact and the JUnit test parser read it" },
  },
  {
    name: "Jenkins step (stowawayScan parameters)",
    declared: () => {
      const step = read("plugins/jenkins/vars/stowawayScan.groovy");
      const list = /PARAMETERS = \[([^\]]+)\]/.exec(step)![1]!;
      return renamed(
        [...list.matchAll(/'([A-Za-z]+)'/g)].map((match) => kebab(match[1]!)),
        {
          "credentials-id": "username,password",
          "registry-token-credentials-id": "registry-token",
          "server-token-credentials-id": "server-token",
        },
      );
    },
    exempt: {},
  },
];

describe("every adapter declares every common input of the CI contract", () => {
  it("the contract includes the registry timeouts (issue 12)", () => {
    expect(COMMON_INPUT_NAMES).toEqual(
      expect.arrayContaining(["timeout-connect", "timeout-first-byte", "timeout-idle"]),
    );
  });

  for (const adapter of ADAPTERS) {
    it(adapter.name, () => {
      const declared = new Set(adapter.declared());
      const missing = COMMON_INPUT_NAMES.filter((name) => !declared.has(name) && !(name in adapter.exempt));
      expect(missing, `${adapter.name} lacks these common inputs`).toEqual([]);
      // An exemption for an input the adapter does declare is stale.
      expect(Object.keys(adapter.exempt).filter((name) => declared.has(name))).toEqual([]);
      for (const reason of Object.values(adapter.exempt)) expect(reason.length).toBeGreaterThan(20);
    });
  }

  it("the GitLab component offers the timeouts as inputs, each mapped to its variable", () => {
    const [spec, body] = loadAll(read("plugins/gitlab-ci/templates/stowaway/template.yml")) as [
      { spec: { inputs: Record<string, unknown> } },
      Record<string, { variables: Record<string, string> }>,
    ];
    const job = body["$[[ inputs.job-name ]]"]!;
    for (const name of ["timeout-connect", "timeout-first-byte", "timeout-idle"]) {
      expect(Object.keys(spec.spec.inputs)).toContain(name);
      expect(job.variables[`STOWAWAY_${name.toUpperCase().replace(/-/g, "_")}`]).toBe(`$[[ inputs.${name} ]]`);
    }
  });
});
