/**
 * The CLI under registry faults: the timeout flags and STOWAWAY_TIMEOUT_* variables bound a
 * stalled registry (served by our fault-injecting proxy in front of a real docker-registry) to
 * one line and exit 2, and an arm64-only image is scanned without --platform and refused with a
 * different one (docs/matching-rules.md §1.3). The CLI runs as a child process asynchronously so
 * the in-process proxy keeps serving.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import { startFaultProxy, type FaultProxy } from "../../core/test/helpers/fault-proxy.js";
import { buildImage, buildLayer, type BuiltImage } from "../../core/test/helpers/image-builder.js";
import { pushImage } from "../../core/test/helpers/registry-push.js";
import { describeWithRegistry, startRegistry, type RegistryServer } from "../../core/test/helpers/registry-server.js";
import { cliEntry } from "./harness.js";

/** Node start-up and module loading on a loaded machine, on top of the derived bounds. */
const STARTUP_SLACK_MS = 10_000;

let registry: RegistryServer;
let proxy: FaultProxy;
let home: string;
let arm: BuiltImage;

function stowaway(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliEntry, ...args], {
      env: { PATH: process.env.PATH, HOME: home, CI: "true", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr, ms: Date.now() - started }));
  });
}

describeWithRegistry("stowaway CLI against a stalling registry and a single-platform image", () => {
  beforeAll(async () => {
    home = mkdtempSync(path.join(os.tmpdir(), "stowaway-cli-faults-"));
    registry = await startRegistry({ kind: "plain" });
    arm = buildImage({
      layers: [
        await buildLayer([
          { path: "etc/os-release", content: 'ID=debian\nVERSION_ID="12"\n' },
          {
            path: "var/lib/dpkg/status",
            content: "Package: armonly\nStatus: install ok installed\nArchitecture: arm64\nVersion: 2.0-1\n\n",
          },
        ]),
      ],
      platform: { os: "linux", architecture: "arm64" },
    });
    await pushImage({ baseUrl: registry.baseUrl }, "arm/only", arm, "1");
    proxy = await startFaultProxy(registry.baseUrl);
  }, 60_000);

  afterEach(() => proxy.reset());

  afterAll(async () => {
    await proxy?.close();
    await registry?.stop();
    rmSync(home, { recursive: true, force: true });
  });

  it("--timeout-first-byte bounds a stalled manifest request: one line naming it, exit 2", async () => {
    proxy.rule = (r) => (r.url.includes("/manifests/") ? { kind: "stall-headers" } : undefined);
    const run = await stowaway(["sbom", `${proxy.host}/arm/only:1`, "--no-cache", "--timeout-first-byte", "0.5"]);
    expect(run.code).toBe(2);
    const lines = run.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /sent no response to the request for the manifest of .*arm\/only:1 within 0\.5 s \(first-byte timeout; raise with --timeout-first-byte\)/,
    );
    // Two tries of 0.5 s and one 0.5 s pause between them, far below the 30 s default.
    expect(run.ms).toBeLessThan(1500 + STARTUP_SLACK_MS);
  });

  it("STOWAWAY_TIMEOUT_IDLE bounds a silent blob body, naming the blob", async () => {
    const layer = `/v2/arm/only/blobs/${arm.layers[0]!.digest}`;
    proxy.rule = (r) => (r.url === layer ? { kind: "stall-body", afterBytes: 0 } : undefined);
    const run = await stowaway(["sbom", `${proxy.host}/arm/only:1`, "--no-cache"], { STOWAWAY_TIMEOUT_IDLE: "0.5" });
    expect(run.code).toBe(2);
    const lines = run.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`sent no bytes of blob ${arm.layers[0]!.digest} for 0.5 s (idle timeout`);
    expect(run.ms).toBeLessThan(1000 + STARTUP_SLACK_MS);
  });

  it("refuses a malformed timeout in one line naming the flag", async () => {
    const run = await stowaway(["sbom", `${proxy.host}/arm/only:1`, "--no-cache", "--timeout-idle", "soon"]);
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split("\n")).toHaveLength(1);
    expect(run.stderr).toMatch(/--timeout-idle: "soon" is not a number of seconds/);
  });

  it("scans an arm64-only image without --platform, as the adapters do", async () => {
    const run = await stowaway(["sbom", `${registry.host}/arm/only:1`, "--no-cache", "-f", "json"]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout) as {
      artifact: { manifestDigest: string; platform: { architecture: string } };
      packages: Array<{ name: string }>;
    };
    expect(result.artifact.manifestDigest).toBe(arm.manifestDigest);
    expect(result.artifact.platform.architecture).toBe("arm64");
    expect(result.packages.map((p) => p.name)).toEqual(["armonly"]);
  });

  it("refuses it with --platform linux/amd64 in one line, exit 2", async () => {
    const run = await stowaway(["sbom", `${registry.host}/arm/only:1`, "--no-cache", "--platform", "linux/amd64"]);
    expect(run.code).toBe(2);
    const lines = run.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain("is a linux/arm64/v8 image with no linux/amd64 variant");
  });
});
