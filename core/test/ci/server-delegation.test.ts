import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseCommonInputs } from "../../src/ci/inputs.js";
import { runCi } from "../../src/ci/run.js";
import { startDemoService, type DemoService } from "../helpers/demo-service.js";
import { tempDir } from "../helpers/temp-dir.js";

const root = path.resolve(fileURLToPath(new URL("../../..", import.meta.url)));
const demoArchive = path.join(root, "examples/demo/demo-image.oci.tar");

describe("CI delegation: the server input sends the scan to a Stowaway service", () => {
  let dir: string;
  let plain: DemoService;
  let central: DemoService;
  const lines: string[] = [];

  beforeAll(async () => {
    dir = tempDir("stowaway-delegate-");
    plain = await startDemoService(path.join(dir, "plain"));
    central = await startDemoService(path.join(dir, "central"), "version: 1\ngate:\n  failOn: none\n");
  });
  afterAll(async () => {
    for (const running of [plain, central]) await running?.close();
  });

  const inputs = (values: Record<string, string>, out: string) =>
    parseCommonInputs((name) => values[name], { outputDir: path.join(dir, out), reports: ["json", "sarif"] });

  it("matches a local archive's SBOM on the service and applies the run's default gate to the findings", async () => {
    const run = await runCi(
      inputs({ image: `oci-archive:${demoArchive}`, server: plain.service.url, "server-token": plain.token }, "a"),
      { env: {}, log: (line) => lines.push(line) },
    );
    // The demo's findings (examples/demo/db): 9 critical, 12 high, 13 medium, 1 low; the default gate fails on critical.
    expect(run.counts).toMatchObject({ critical: 9, high: 12, medium: 13, low: 1 });
    expect(run.outcome).toBe("fail");
    expect(run.result.artifact.reference).toBe(`oci-archive:${demoArchive}`);
    expect(run.notices.join("\n")).toMatch(/scanned by the Stowaway service \(job [0-9a-f-]{36}/);
    const outcome = JSON.parse(await readFile(run.outcomeFile, "utf8")) as { outcome: string };
    expect(outcome.outcome).toBe("fail");
    expect(lines.join("\n")).not.toContain(plain.token);
  });

  it("takes the service's central policy verdict over the run's own gate", async () => {
    const run = await runCi(
      inputs(
        {
          image: `oci-archive:${demoArchive}`,
          server: central.service.url,
          "server-token": central.token,
          "fail-on": "low",
        },
        "b",
      ),
      { env: {} },
    );
    expect(run.counts.critical).toBe(9);
    expect(run.outcome).toBe("pass");
  });

  it("names the service and what to do when the token is refused, without echoing the token", async () => {
    const wrong = `${plain.token.slice(0, 21)}${"B".repeat(43)}`;
    const attempt = runCi(
      inputs({ image: `oci-archive:${demoArchive}`, server: plain.service.url, "server-token": wrong }, "c"),
      { env: {} },
    );
    await expect(attempt).rejects.toThrow(/answered 401: .*check STOWAWAY_SERVER_TOKEN/);
    await expect(attempt).rejects.not.toThrow(wrong.slice(21));
  });
});
