import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import https from "node:https";
import path from "node:path";
import { expect, it } from "vitest";
import { makeTlsMaterial } from "../../core/test/helpers/registry-server.js";
import { cliEntry, cliHarness, root } from "./harness.js";
import { describe } from "vitest";

const { stowaway, work } = cliHarness("stowaway-admission-cli-");

function get(url: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { ca }, (res) => {
        let body = "";
        res.on("data", (chunk: Buffer) => (body += chunk.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on("error", reject);
  });
}

describe("stowaway admission serve", () => {
  it("serves /healthz over HTTPS until SIGTERM, then stops cleanly", async () => {
    const tls = makeTlsMaterial(work());
    const policy = path.join(work(), "policy.yaml");
    writeFileSync(policy, "version: 1\ntrust:\n  registries:\n    - registry.internal.example/\n");
    const child = spawn(
      process.execPath,
      [
        cliEntry,
        "admission",
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--tls-cert",
        tls.certFile,
        "--tls-key",
        tls.keyFile,
        "--policy",
        policy,
      ],
      { cwd: root, env: { PATH: process.env.PATH, HOME: work(), CI: "true" }, stdio: ["ignore", "pipe", "pipe"] },
    );
    let stderr = "";
    const address = await new Promise<string>((resolve, reject) => {
      child.stderr.on("data", (chunk: Buffer) => {
        stderr += chunk.toString();
        const match = /listening on https:\/\/([^/]+)\/validate \(fail-closed, timeout 8000 ms\)/.exec(stderr);
        if (match) resolve(match[1]!);
      });
      child.once("exit", () => reject(new Error(`exited early: ${stderr}`)));
    });
    expect(await get(`https://${address}/healthz`, readFileSync(tls.caFile, "utf8"))).toEqual({
      status: 200,
      body: "ok\n",
    });
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(stderr).toContain("stowaway admission: stopped");
  }, 20_000);

  it("refuses a policy it cannot read, in one line", () => {
    const run = stowaway([
      "admission",
      "serve",
      "--listen",
      "127.0.0.1:0",
      "--tls-cert",
      "x",
      "--tls-key",
      "y",
      "--policy",
      path.join(work(), "missing.yaml"),
    ]);
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split("\n")).toHaveLength(1);
    expect(run.stderr).toContain("cannot read the policy");
  });
});
