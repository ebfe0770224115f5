import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, it } from "vitest";
import { basicAuthorization, pushArchive } from "../../core/test/helpers/registry-push.js";
import { describeWithRegistry, startRegistry, type RegistryServer } from "../../core/test/helpers/registry-server.js";

const root = path.resolve(fileURLToPath(new URL("../..", import.meta.url)));
const cli = path.join(root, "cli/dist/main.js");
const demo = path.join(root, "examples/demo/demo-image.oci.tar");
const USER = "demo";
const PASSWORD = "Pa55-word-for-the-demo-3c9e";

let registry: RegistryServer;
let home: string;

function stowaway(args: string[], env: NodeJS.ProcessEnv = {}) {
  const result = spawnSync(process.execPath, [cli, ...args], {
    encoding: "utf8",
    // An empty HOME keeps the user's own docker config.json out of the test.
    env: { PATH: process.env.PATH, HOME: home, CI: "true", ...env },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describeWithRegistry("stowaway against a password-protected local registry (as the README shows)", () => {
  beforeAll(async () => {
    home = mkdtempSync(path.join(os.tmpdir(), "stowaway-cli-registry-"));
    registry = await startRegistry({ kind: "basic", users: { [USER]: PASSWORD } });
    await pushArchive(
      { baseUrl: registry.baseUrl, authorization: basicAuthorization(USER, PASSWORD) },
      "demo",
      demo,
      "1",
    );
  });
  afterAll(async () => {
    await registry?.stop();
    rmSync(home, { recursive: true, force: true });
  });

  it("gives the same inventory as the archive, with --username/--password", () => {
    const fromArchive = stowaway(["sbom", `oci-archive:${demo}`, "-f", "json", "--no-cache"]);
    const fromRegistry = stowaway([
      "sbom",
      `${registry.host}/demo:1`,
      "-f",
      "json",
      "--no-cache",
      "--username",
      USER,
      "--password",
      PASSWORD,
      "--insecure",
    ]);
    expect(fromRegistry.stderr).toBe("");
    expect(fromRegistry.code).toBe(0);
    const archive = JSON.parse(fromArchive.stdout);
    const pulled = JSON.parse(fromRegistry.stdout);
    expect(pulled.artifact.manifestDigest).toBe(archive.artifact.manifestDigest);
    expect(pulled.packages).toEqual(archive.packages);
  });

  it("takes the credentials from STOWAWAY_USERNAME / STOWAWAY_PASSWORD", () => {
    const { code } = stowaway(["sbom", `${registry.host}/demo:1`, "--no-cache", "--insecure"], {
      STOWAWAY_USERNAME: USER,
      STOWAWAY_PASSWORD: PASSWORD,
    });
    expect(code).toBe(0);
  });

  it("says how to authenticate when no credentials are given, in one line, exit 2", () => {
    const { code, stderr } = stowaway(["sbom", `${registry.host}/demo:1`, "--no-cache", "--insecure"]);
    expect(code).toBe(2);
    expect(stderr.trim().split("\n")).toHaveLength(1);
    expect(stderr).toMatch(/authentication required for 127\.0\.0\.1:\d+\/demo/);
  });

  it("never prints a wrong password", () => {
    const { code, stderr, stdout } = stowaway([
      "sbom",
      `${registry.host}/demo:1`,
      "--no-cache",
      "--insecure",
      "--username",
      USER,
      "--password",
      "wrong-Secret-991",
    ]);
    expect(code).toBe(2);
    expect(stderr + stdout).not.toContain("wrong-Secret-991");
    expect(stderr + stdout).not.toContain(Buffer.from(`${USER}:wrong-Secret-991`).toString("base64"));
  });
});
