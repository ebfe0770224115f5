import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { buildImage, buildLayer, writeOciArchive } from "../../../core/test/helpers/image-builder.js";
import { MIRROR_EXPECTED, NO_PROXY_ENV, startDbMirror } from "../../../core/test/helpers/db-mirror.js";
import { startDemoService } from "../../../core/test/helpers/demo-service.js";
import { describeWithShared, sharedPath } from "../../../core/test/helpers/shared.js";
import { tempDir } from "../../../core/test/helpers/temp-dir.js";
import { actionHarness, annotations, demoArchive, demoDb, severityCountsOf, type ActionRun } from "./harness.js";

const harness = actionHarness("stowaway-gha-");
const demoImage = `oci-archive:${demoArchive}`;

function countOutputs(run: ActionRun): Record<string, number> {
  const names = ["critical", "high", "medium", "low", "negligible", "unknown"];
  return Object.fromEntries(names.map((name) => [name, Number(run.outputs[name])]));
}

/** Any port that refuses connections: a database mirror that is down. */
async function deadUrl(): Promise<string> {
  const probe = http.createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(probe.address() as AddressInfo).port}`;
  await new Promise((resolve) => probe.close(resolve));
  return url;
}

describe("the bundled action on the demo image, against the CLI", () => {
  it("fails the step on fail-on critical: exit 1, setFailed, one error per violating finding, CLI counts", async () => {
    // The demo has 9 critical findings: all fit in the 10 error annotations, next to the verdict.
    const cli = harness.cliJson([demoImage, "--db", demoDb, "--fail-on", "critical"]);
    expect(cli.code).toBe(1);
    const run = await harness.runAction({ image: demoImage, db: demoDb, "fail-on": "critical" });
    expect(run.code).toBe(1);
    expect(run.outputs.outcome).toBe("fail");
    expect(countOutputs(run)).toEqual(severityCountsOf(cli.result));

    const errors = annotations(run, "error");
    const verdict = errors.at(-1)!;
    const violating = cli.result.findings.filter((finding) =>
      cli.result.policy!.violations.some((violation) => violation.findingIds.includes(finding.findingId)),
    );
    expect(violating).toHaveLength(9);
    expect(violating.every((finding) => finding.severity === "critical")).toBe(true);
    expect(errors).toHaveLength(violating.length + 1);
    expect(verdict.message).toMatch(/^Stowaway policy gate failed for oci-archive:.*: 9 findings at or above critical/);
    expect(verdict.properties).toEqual({});
    const annotated = errors.slice(0, -1).map((error) => /^\w+ (\S+) in /.exec(error.message)![1]);
    expect(annotated.sort()).toEqual(violating.map((finding) => finding.id).sort());
    expect(annotations(run, "warning")).toEqual([]);
  });

  it("writes every report before the verdict and names each in an output", async () => {
    const cli = harness.cliJson([demoImage, "--db", demoDb, "--fail-on", "high"]);
    const run = await harness.runAction({ image: demoImage, db: demoDb, "fail-on": "high", reports: "sarif, junit" });
    expect(run.code).toBe(1);
    const json = JSON.parse(readFileSync(run.outputs["report-json"]!, "utf8")) as typeof cli.result;
    expect(json.findings.length).toBe(cli.result.findings.length);
    expect(json.policy?.outcome).toBe("fail");
    expect(run.outputs["sarif-file"]).toBe(run.outputs["report-sarif"]);
    const sarif = JSON.parse(readFileSync(run.outputs["sarif-file"]!, "utf8")) as { version: string };
    expect(sarif.version).toBe("2.1.0");
    expect(readFileSync(run.outputs["report-junit"]!, "utf8")).toMatch(/^<\?xml/);
    // The default output folder is the job's temp dir, not the checkout.
    expect(path.dirname(run.outputs["report-json"]!)).toBe(path.join(run.dir, "temp/stowaway"));
  });

  it("passes on fail-on none: exit 0, no error annotation", async () => {
    // Every severity is present in the demo (critical included), so only a gate that is off passes.
    const cli = harness.cliJson([demoImage, "--db", demoDb, "--fail-on", "none"]);
    expect(cli.code).toBe(0);
    expect(severityCountsOf(cli.result).critical).toBe(9);
    const run = await harness.runAction({ image: demoImage, db: demoDb, "fail-on": "none" });
    expect(run.code).toBe(0);
    expect(run.outputs.outcome).toBe("pass");
    expect(countOutputs(run)).toEqual(severityCountsOf(cli.result));
    expect(annotations(run, "error")).toEqual([]);
    expect(run.stdout).toContain("Stowaway policy gate passed");
  });

  it("turns violations into warning annotations in warn mode and keeps the step green", async () => {
    const run = await harness.runAction({ image: demoImage, db: demoDb, "fail-on": "critical", mode: "warn" });
    expect(run.code).toBe(0);
    expect(run.outputs.outcome).toBe("warn");
    expect(annotations(run, "error")).toEqual([]);
    const warnings = annotations(run, "warning");
    expect(warnings.map((warning) => warning.message.split(":")[0])).toEqual([
      "CRITICAL CVE-2020-36242 in cryptography 3.3.1 (fixed in 3.3.2, layer 2)",
      "CRITICAL CVE-2023-49083 in cryptography 3.3.1 (fixed in 41.0.6, layer 2)",
      "CRITICAL CVE-2021-35042 in django 3.2.0 (fixed in 3.2.5, layer 2)",
      "CRITICAL CVE-2022-28346 in django 3.2.0 (fixed in 3.2.13, layer 2)",
      "CRITICAL CVE-2022-28347 in django 3.2.0 (fixed in 3.2.13, layer 2)",
      "CRITICAL CVE-2022-34265 in django 3.2.0 (fixed in 3.2.14, layer 2)",
      "CRITICAL CVE-2023-31047 in django 3.2.0 (fixed in 3.2.19, layer 2)",
      "CRITICAL CVE-2020-14343 in pyyaml 5.3 (fixed in 5.4, layer 2)",
      "CRITICAL CVE-2020-1747 in pyyaml 5.3 (fixed in 5.3.1, layer 2)",
      "Stowaway policy violations (mode",
    ]);
  });

  it("puts the counts in the job summary as the markdown report", async () => {
    const cli = harness.cliJson([demoImage, "--db", demoDb, "--fail-on", "high"]);
    const counts = severityCountsOf(cli.result);
    const run = await harness.runAction({ image: demoImage, db: demoDb, "fail-on": "high" });
    const row = ["critical", "high", "medium", "low", "negligible", "unknown"].map((severity) => counts[severity]);
    expect(run.summary).toContain(`| ${row.join(" | ")} | 0 | ${cli.result.findings.length} |`);
    expect(run.summary).toContain("**Policy: ❌ FAIL**");
    expect(run.summary).toContain("CVE-2023-43804");
  });

  it("caps annotations at 10 errors: 8 findings, a roll-up naming the rest, then the verdict", async () => {
    const policy = path.join(harness.work(), "high.yaml");
    writeFileSync(policy, "version: 1\ngate:\n  failOn: high\n");
    const cli = harness.cliJson([demoImage, "--db", demoDb, "--policy", policy]);
    const violating = new Set(cli.result.policy!.violations.flatMap((violation) => violation.findingIds));
    // 9 critical and 12 high findings in the demo.
    expect(violating.size).toBe(21);

    const run = await harness.runAction({ image: demoImage, db: demoDb, policy });
    expect(run.code).toBe(1);
    const errors = annotations(run, "error");
    expect(errors).toHaveLength(10);
    // Most severe first: the first 8 of the 9 critical findings fill the slots, the rest are rolled up.
    expect(errors.slice(0, 8).every((error) => /^CRITICAL CVE-/.test(error.message))).toBe(true);
    expect(errors[8]!.message).toBe(
      `and ${violating.size - 8} more policy violations; see the job summary and the JSON report`,
    );
    expect(errors[9]!.message).toMatch(/^Stowaway policy gate failed/);
  });

  it("escapes %, CR, LF in messages and also : and , in properties, exactly as the runner unescapes them", async () => {
    const awkward = path.join(harness.work(), "scan 100%, a:b\r\nc");
    mkdirSync(awkward, { recursive: true });
    cpSync(demoArchive, path.join(awkward, "demo.tar"));
    const image = `oci-archive:${awkward}/demo.tar`;
    // CR and LF never reach the log: the neutraliser shows them as \r\n (docs/log-safety.md).
    const shown = image.replace("\r\n", "\\r\\n");
    const run = await harness.runAction({ image, db: demoDb, "fail-on": "critical" });
    expect(run.code).toBe(1);
    const errors = annotations(run, "error");
    // The 9 critical findings, then the verdict.
    expect(errors).toHaveLength(10);
    expect(errors[0]!.properties.title).toBe(`stowaway: ${shown}`);
    expect(errors[9]!.message).toContain(`failed for ${shown}: 9 findings`);
    const raw = run.stdout.split("\n").find((line) => line.startsWith("::error title="))!;
    expect(raw).toContain("title=stowaway%3A oci-archive%3A");
    expect(raw).toContain("scan 100%25%2C a%3Ab\\r\\nc/demo.tar::");
    const verdictLine = run.stdout.split("\n").find((line) => line.startsWith("::error::"))!;
    expect(verdictLine).toContain("scan 100%25, a:b\\r\\nc/demo.tar: 9 findings");
  });

  it("anchors annotations and SARIF results on the Dockerfile's last FROM line when given one", async () => {
    const run = await harness.runAction(
      { image: demoImage, db: demoDb, "fail-on": "high", dockerfile: "docker/Dockerfile" },
      {},
      (workspace) => {
        mkdirSync(path.join(workspace, "docker"));
        writeFileSync(
          path.join(workspace, "docker/Dockerfile"),
          "FROM node:20 AS build\nRUN npm ci\n\nFROM debian:12-slim\nCOPY --from=build /app /app\n",
        );
      },
    );
    const finding = annotations(run, "error")[0]!;
    expect(finding.properties).toMatchObject({ file: "docker/Dockerfile", line: "4" });
    const sarif = JSON.parse(readFileSync(run.outputs["sarif-file"]!, "utf8")) as {
      runs: Array<{ results: Array<{ locations: Array<{ physicalLocation: unknown }> }> }>;
    };
    expect(sarif.runs[0]!.results[0]!.locations[0]!.physicalLocation).toMatchObject({
      artifactLocation: { uri: "docker/Dockerfile" },
      region: { startLine: 4 },
    });
  });
});

describe("inputs and secrets", () => {
  it("fails with one clear error when image is missing (runners do not enforce required)", async () => {
    const run = await harness.runAction({ db: demoDb, "fail-on": "high" });
    expect(run.code).toBe(1);
    expect(annotations(run, "error").map((error) => error.message)).toEqual([
      "stowaway: input image is required: the image to scan (registry reference, oci-archive:PATH, docker-archive:PATH ...)",
    ]);
    expect(run.outputs).toEqual({});
  });

  it("names the input and the allowed values for a bad choice", async () => {
    const run = await harness.runAction({ image: demoImage, db: demoDb, "fail-on": "severe" });
    expect(run.code).toBe(1);
    expect(annotations(run, "error")[0]!.message).toBe(
      'stowaway: input fail-on: "severe" is not one of critical, high, medium, low, none',
    );
  });

  it("masks the password, registry token and GitHub token before anything else and never prints them", async () => {
    const secrets = {
      password: "hunter2-Pa55%word",
      "registry-token": "rt-0123456789abcdef",
      "github-token": "ghs_fake",
    };
    const run = await harness.runAction({
      image: demoImage,
      db: demoDb,
      "fail-on": "high",
      username: "ci-bot",
      reports: "sarif,junit,markdown,html,cyclonedx,spdx,gitlab,table",
      ...secrets,
    });
    expect(run.code).toBe(1);
    const lines = run.stdout.split("\n");
    expect(lines.slice(0, 3)).toEqual([
      "::add-mask::hunter2-Pa55%25word",
      "::add-mask::rt-0123456789abcdef",
      "::add-mask::ghs_fake",
    ]);
    const rest = [
      lines.slice(3).join("\n"),
      run.stderr,
      readFileSync(path.join(run.dir, "github_output"), "utf8"),
      run.summary,
    ];
    const reportDir = path.join(run.dir, "temp/stowaway");
    for (const file of readdirSync(reportDir)) rest.push(readFileSync(path.join(reportDir, file), "utf8"));
    for (const secret of Object.values(secrets)) {
      for (const text of rest) expect(text).not.toContain(secret);
    }
    expect(Object.keys(run.outputs)).toContain("report-spdx");
  });

  it("keeps the registry password out of a failed pull's error", async () => {
    const registry = (await deadUrl()).replace("http://", "");
    const run = await harness.runAction({
      image: `${registry}/team/app:1.0`,
      insecure: "true",
      username: "ci-bot",
      password: "hunter2-Pa55%word",
      db: demoDb,
    });
    expect(run.code).toBe(1);
    expect(annotations(run, "error")[0]!.message).toMatch(/^stowaway: /);
    expect(run.stdout.split("\n").slice(1).join("\n")).not.toContain("hunter2");
  });
});

describe("the managed vulnerability database (no db input)", () => {
  it("uses the database cached from an earlier run, with a warning, when the download fails", async () => {
    const cli = harness.cliJson([demoImage, "--db", demoDb, "--fail-on", "high"]);
    const run = await harness.runAction(
      { image: demoImage, "fail-on": "high", "db-mirror": await deadUrl() },
      {},
      (_workspace, home) => cpSync(demoDb, path.join(home, ".cache/stowaway/db"), { recursive: true }),
    );
    expect(run.code).toBe(1);
    expect(countOutputs(run)).toEqual(severityCountsOf(cli.result));
    const warnings = annotations(run, "warning").map((warning) => warning.message);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(
      /^could not update the vulnerability database \(.+\); using the cached copy built .+ ago$/,
    );
    expect(run.stdout).toContain("the Actions cache service is not available here");
  });

  it("offline with nothing cached: unchecked, the step fails, inventory reports but no SARIF", async () => {
    const run = await harness.runAction({ image: demoImage, "fail-on": "high", offline: "true" });
    expect(run.code).toBe(1);
    expect(run.outputs.outcome).toBe("unchecked");
    const [warning] = annotations(run, "warning");
    expect(warning!.message).toMatch(/^offline and no cached vulnerability database at .*\.cache\/stowaway\/db$/);
    expect(annotations(run, "error").at(-1)!.message).toMatch(
      /^Stowaway checked no vulnerabilities for oci-archive:.*: offline and no cached vulnerability database/,
    );
    expect(existsSync(path.join(run.dir, "temp/stowaway/stowaway.json"))).toBe(true);
    expect(existsSync(path.join(run.dir, "temp/stowaway/stowaway.sarif"))).toBe(false);
    expect(run.outputs["sarif-file"]).toBeUndefined();
  });

  it("on a fresh runner with only the image (and a loopback mirror): provisions, applies the default gate", async () => {
    const mirror = await startDbMirror();
    try {
      const run = await harness.runAction({ image: demoImage }, { ...NO_PROXY_ENV, STOWAWAY_DB_MIRROR: mirror.url });
      expect(run.code).toBe(1);
      expect(run.outputs.outcome).toBe(MIRROR_EXPECTED.outcome);
      expect(Number(run.outputs.critical)).toBe(MIRROR_EXPECTED.critical.length);
      expect(Number(run.outputs.medium)).toBe(MIRROR_EXPECTED.medium.length);
      expect(annotations(run, "error")[0]!.message).toMatch(
        new RegExp(`^CRITICAL ${MIRROR_EXPECTED.critical[0]} in urllib3`),
      );
      const outcome = JSON.parse(readFileSync(path.join(run.dir, "temp/stowaway/stowaway-outcome.json"), "utf8"));
      expect(outcome).toMatchObject({ outcome: "fail", gate: { failOn: "critical" }, database: { state: "updated" } });
    } finally {
      await mirror.close();
    }
  });
});

describe("the server input: the scan is delegated to a Stowaway service", () => {
  it("sends the archive's SBOM to a real service on 127.0.0.1, runs no database step, masks the token", async () => {
    const demo = await startDemoService(tempDir("stowaway-gha-service-"));
    try {
      const cli = harness.cliJson([demoImage, "--db", demoDb]);
      // No db input and no cache: without delegation the action would try the Actions cache and a download.
      const run = await harness.runAction({ image: demoImage, server: demo.service.url, "server-token": demo.token });
      expect(run.code).toBe(1);
      expect(run.outputs.outcome).toBe("fail");
      expect(countOutputs(run)).toEqual(severityCountsOf(cli.result));
      expect(run.stdout).not.toContain("Actions cache");
      expect(existsSync(path.join(run.dir, "home/.cache/stowaway/db"))).toBe(false);
      expect(annotations(run, "warning").map((warning) => warning.message)).toContainEqual(
        expect.stringMatching(/^scanned by the Stowaway service \(job [0-9a-f-]{36}/),
      );
      const lines = run.stdout.split("\n");
      expect(lines[0]).toBe(`::add-mask::${demo.token}`);
      for (const text of [
        lines.slice(1).join("\n"),
        run.stderr,
        readFileSync(path.join(run.dir, "github_output"), "utf8"),
      ]) {
        expect(text).not.toContain(demo.token);
      }
    } finally {
      await demo.close();
    }
  });
});

describeWithShared("sql.js from the bundle (rpm SQLite databases: Azure Linux, Fedora, RHEL 9)", () => {
  it("loads the .wasm shipped in dist/ and lists the same rpm packages as the CLI", async () => {
    const rpmdb = readFileSync(sharedPath("fixtures/os-packages/rpm/cbl-mariner-2.0/rpmdb.sqlite"));
    const layer = await buildLayer([
      { path: "etc/os-release", content: 'ID=mariner\nVERSION_ID="2.0"\nNAME="Common Base Linux Mariner"\n' },
      { path: "var/lib/rpm/rpmdb.sqlite", content: rpmdb },
    ]);
    const archive = path.join(harness.work(), "mariner.oci.tar");
    await writeOciArchive(archive, { images: [{ image: buildImage({ layers: [layer] }) }] });
    const cli = harness.cliJson([`oci-archive:${archive}`]);
    const cliRpms = cli.result.packages.filter((pkg) => pkg.type === "rpm").length;
    expect(cliRpms).toBeGreaterThan(50);

    const run = await harness.runAction({ image: `oci-archive:${archive}`, offline: "true" });
    // Nothing was checked (offline, no database): unchecked fails the step, the inventory is still reported.
    expect(run.code).toBe(1);
    expect(run.outputs.outcome).toBe("unchecked");
    const json = JSON.parse(readFileSync(run.outputs["report-json"]!, "utf8")) as typeof cli.result & {
      warnings: string[];
    };
    expect(json.packages.filter((pkg) => pkg.type === "rpm")).toHaveLength(cliRpms);
    expect(json.warnings.join("\n")).not.toMatch(/SQLite/);
    // No database: said plainly, never a silent "no vulnerabilities"; the scan's own warnings follow.
    expect(annotations(run, "warning").map((warning) => warning.message)).toEqual([
      expect.stringMatching(/^offline and no cached vulnerability database/),
      expect.stringMatching(/^mariner 2\.0 reached its end of life/),
    ]);
  });
});
