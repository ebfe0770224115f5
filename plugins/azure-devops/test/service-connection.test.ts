import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { basicAuthorization, pushArchive } from "../../../core/test/helpers/registry-push.js";
import {
  describeWithRegistry,
  startRegistry,
  type RegistryServer,
} from "../../../core/test/helpers/registry-server.js";
import {
  CLI,
  DEMO_DB,
  DEMO_IMAGE,
  cliScan,
  countsOf,
  installTask,
  runTaskAsAgent,
  type AgentRun,
} from "./helpers/task-run.js";

const CONNECTION_ID = "6b1c3c0e-5d0a-4c53-9a3e-2f1d7f0c9b11";
const USER = "pipeline";
const PASSWORD = "Az-conn-secret-7f3e9b2c;]%x";

let taskDir: string;
let cleanupTask: () => void;
let scratch: string;

/** The variables the agent sets for a `dockerregistry` service connection (Others / Docker Hub). */
function dockerRegistryEndpoint(registry: string, password = PASSWORD): Record<string, string> {
  const parameters = { registry, username: USER, password, email: "" };
  return {
    [`ENDPOINT_URL_${CONNECTION_ID}`]: registry,
    [`ENDPOINT_AUTH_${CONNECTION_ID}`]: JSON.stringify({ parameters, scheme: "UsernamePassword" }),
    [`ENDPOINT_AUTH_SCHEME_${CONNECTION_ID}`]: "UsernamePassword",
    [`ENDPOINT_AUTH_PARAMETER_${CONNECTION_ID}_REGISTRY`]: registry,
    [`ENDPOINT_AUTH_PARAMETER_${CONNECTION_ID}_USERNAME`]: USER,
    [`ENDPOINT_AUTH_PARAMETER_${CONNECTION_ID}_PASSWORD`]: password,
    [`ENDPOINT_DATA_${CONNECTION_ID}_REGISTRYTYPE`]: "Others",
  };
}

function workDir(name: string): string {
  const dir = path.join(scratch, name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * The password may reach stdout only as the payload of `task.setsecret`, the command by which the
 * agent learns what to mask (the agent consumes it; it is never shown). Nowhere else: not in any
 * other command or plain line, not on stderr, not in a report.
 */
function expectPasswordOnlyRegistered(run: AgentRun, outputDir: string): void {
  const setSecret = run.named("task.setsecret");
  expect(setSecret.map((c) => c.message)).toEqual([PASSWORD]);
  const otherLines = run.stdout.split(/\r?\n/).filter((line) => !line.startsWith("##vso[task.setsecret]"));
  for (const line of otherLines) expect(line).not.toContain(PASSWORD);
  for (const fragment of ["Az-conn-secret", "7f3e9b2c"]) {
    expect(otherLines.join("\n")).not.toContain(fragment);
    expect(run.stderr).not.toContain(fragment);
  }
  // The secret is registered before anything else is printed about the connection or the inputs.
  const firstSecret = run.commands.findIndex((c) => c.command === "task.setsecret");
  const firstInputDebug = run.commands.findIndex((c) => c.command === "task.debug" && c.message.startsWith("image="));
  expect(firstSecret).toBeLessThan(firstInputDebug);
  for (const file of readdirSync(outputDir)) {
    const text = readFileSync(path.join(outputDir, file), "utf8");
    expect(text, file).not.toContain("Az-conn-secret");
  }
}

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error("cli/dist/main.js is missing: run `npm run build` first (npm test does)");
  ({ taskDir, cleanup: cleanupTask } = await installTask());
  scratch = mkdtempSync(path.join(os.tmpdir(), "stowaway-ado-conn-"));
});

afterAll(() => {
  cleanupTask?.();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe("a Docker Registry service connection", () => {
  it("is not used for an image archive, and its password is only ever registered as a secret", () => {
    const outputDir = path.join(scratch, "archive-out");
    const run = runTaskAsAgent(taskDir, {
      workDir: workDir("archive"),
      inputs: {
        image: `oci-archive:${DEMO_IMAGE}`,
        db: DEMO_DB,
        failOn: "high",
        outputDir,
        reports: "html,sarif,cyclonedx,spdx,gitlab,table",
        dockerRegistryServiceConnection: CONNECTION_ID,
      },
      env: { ...dockerRegistryEndpoint("https://index.docker.io/v1/"), SYSTEM_DEBUG: "true" },
    });
    expect(run.result).toBe("Failed");
    const warnings = run.named("task.issue").filter((c) => c.properties.type === "warning");
    expect(warnings.map((c) => c.message)).toContain(
      `service connection ${CONNECTION_ID} is not used: oci-archive:${DEMO_IMAGE} is not a registry image`,
    );
    expectPasswordOnlyRegistered(run, outputDir);
  });

  it("fails with a one-line message when the connection has no password", () => {
    const run = runTaskAsAgent(taskDir, {
      workDir: workDir("no-password"),
      inputs: { image: `oci-archive:${DEMO_IMAGE}`, db: DEMO_DB, dockerRegistryServiceConnection: CONNECTION_ID },
      env: dockerRegistryEndpoint("https://index.docker.io/v1/", ""),
    });
    expect(run.result).toBe("Failed");
    expect(run.named("task.complete")[0]!.message).toMatch(
      new RegExp(
        `^service connection ${CONNECTION_ID}: a Docker Registry connection with a registry, a user name and a password is required`,
      ),
    );
  });
});

describeWithRegistry("a Docker Registry service connection to a password-protected 127.0.0.1 registry", () => {
  let registry: RegistryServer;
  beforeAll(async () => {
    registry = await startRegistry({ kind: "basic", users: { [USER]: PASSWORD } });
    await pushArchive(
      { baseUrl: registry.baseUrl, authorization: basicAuthorization(USER, PASSWORD) },
      "demo",
      DEMO_IMAGE,
      "1",
    );
  });
  afterAll(async () => {
    await registry?.stop();
  });

  it("pulls with the connection's credentials, agrees with the CLI on the archive, and never prints the password", () => {
    const cli = cliScan([`oci-archive:${DEMO_IMAGE}`, "--db", DEMO_DB, "--fail-on", "high"], workDir("cli-home"));
    const outputDir = path.join(scratch, "registry-out");
    const run = runTaskAsAgent(taskDir, {
      workDir: workDir("registry"),
      inputs: {
        image: `${registry.host}/demo:1`,
        db: DEMO_DB,
        failOn: "high",
        insecure: "true",
        outputDir,
        reports: "html,sarif,cyclonedx,spdx,gitlab,table",
        dockerRegistryServiceConnection: CONNECTION_ID,
      },
      env: { ...dockerRegistryEndpoint(`http://${registry.host}`), SYSTEM_DEBUG: "true" },
    });
    expect(run.result, run.stdout.slice(-2000)).toBe("Failed");
    expect(run.outputs.outcome).toBe("fail");
    const expected = countsOf(cli.report);
    for (const [severity, count] of Object.entries(expected)) expect(run.outputs[severity]).toBe(String(count));
    expectPasswordOnlyRegistered(run, outputDir);
  });

  it("keeps the credentials from a registry the connection is not for", () => {
    const run = runTaskAsAgent(taskDir, {
      workDir: workDir("other-registry"),
      inputs: {
        image: `${registry.host}/demo:1`,
        db: DEMO_DB,
        insecure: "true",
        dockerRegistryServiceConnection: CONNECTION_ID,
      },
      env: dockerRegistryEndpoint("https://contoso.azurecr.io"),
    });
    expect(run.result).toBe("Failed");
    const warnings = run.named("task.issue").filter((c) => c.properties.type === "warning");
    expect(warnings.map((c) => c.message)).toContain(
      `service connection ${CONNECTION_ID} is not used: the image is on ${registry.host}, the credentials are for contoso.azurecr.io`,
    );
    expect(run.named("task.complete")[0]!.message).toMatch(/authentication required/);
  });
});
