import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { cliHarness, root } from "./harness.js";
import { defaultAnalyzerFingerprint } from "../../core/src/catalog-image.js";
import { compileSchema2020, errorsOf } from "../../core/test/helpers/schema.js";

const demo = path.join(root, "examples/demo/demo-image.oci.tar");
const validateResult = compileSchema2020(path.join(root, "core/schemas/scan-result.schema.json"));
const { stowaway, work: workDir } = cliHarness("stowaway-cli-");

/** The demo's dpkg status, read with a plain stanza split independent of the cataloger. */
function demoInstalledDebs(): string[] {
  const extract = (member: string): Buffer => spawnSync("tar", ["-xOf", demo, member], { maxBuffer: 1 << 26 }).stdout;
  const index = JSON.parse(extract("index.json").toString()) as { manifests: { digest: string }[] };
  const manifest = JSON.parse(extract(`blobs/sha256/${index.manifests[0]!.digest.slice(7)}`).toString()) as {
    layers: { digest: string }[];
  };
  const base = extract(`blobs/sha256/${manifest.layers[0]!.digest.slice(7)}`);
  const status = spawnSync("tar", ["-xzOf", "-", "var/lib/dpkg/status"], {
    input: base,
    maxBuffer: 1 << 26,
  }).stdout.toString();
  return status
    .split(/\n\n+/)
    .filter((stanza) => /^Status: install ok installed$/m.test(stanza))
    .map((stanza) => /^Package: (.+)$/m.exec(stanza)![1]!)
    .sort();
}

/** PEP 503 names of the demo's dist-info directories, read from the archive listing. */
function demoDistInfo(): string[] {
  const extract = (member: string): Buffer => spawnSync("tar", ["-xOf", demo, member], { maxBuffer: 1 << 26 }).stdout;
  const index = JSON.parse(extract("index.json").toString()) as { manifests: { digest: string }[] };
  const manifest = JSON.parse(extract(`blobs/sha256/${index.manifests[0]!.digest.slice(7)}`).toString()) as {
    layers: { digest: string }[];
  };
  const listing = spawnSync("tar", ["-tzf", "-"], {
    input: extract(`blobs/sha256/${manifest.layers[2]!.digest.slice(7)}`),
  }).stdout.toString();
  return [...listing.matchAll(/site-packages\/([^/]+)-[^-/]+\.dist-info\/METADATA/g)]
    .map((match) => match[1]!.toLowerCase().replace(/[-_.]+/g, "-"))
    .sort();
}

describe("stowaway sbom on the bundled demo image", () => {
  it("writes a JSON document valid against the published schema, with the demo's real packages", () => {
    const { code, stdout, stderr } = stowaway([
      "sbom",
      `oci-archive:${demo}`,
      "--format",
      "json",
      "--cache-dir",
      path.join(workDir(), "cache"),
    ]);
    expect(stderr).toBe("");
    expect(code).toBe(0);
    const result = JSON.parse(stdout);
    expect(validateResult(result), errorsOf(validateResult)).toBe(true);
    const debs = result.packages
      .filter((pkg: { type: string }) => pkg.type === "deb")
      .map((pkg: { name: string }) => pkg.name)
      .sort();
    expect(debs).toEqual(demoInstalledDebs());
    const npm = result.packages.filter((pkg: { type: string }) => pkg.type === "npm");
    expect(
      npm
        .map((pkg: { name: string; version: string; layerIndex: number }) => [pkg.name, pkg.version, pkg.layerIndex])
        .sort(),
    ).toEqual([
      ["@actions/core", "1.6.0", 1],
      ["cowsay", "1.4.0", 1],
    ]);
    const python = result.packages.filter((pkg: { type: string }) => pkg.type === "pypi");
    expect(python.map((pkg: { name: string; layerIndex: number }) => [pkg.name, pkg.layerIndex]).sort()).toEqual(
      demoDistInfo().map((name) => [name, 2]),
    );
    expect(result.artifact.os).toMatchObject({ family: "debian", codename: "bookworm", ecosystem: "Debian:12" });
    expect(result.artifact.layers.map((layer: { createdBy?: string }) => layer.createdBy)).toEqual([
      "debootstrap --variant=minbase bookworm (Debian 12)",
      "COPY node_modules /usr/src/app/node_modules",
      expect.stringMatching(/^RUN pip install/),
      "RUN rm -rf /usr/src/app/node_modules/left-pad-tmp",
    ]);
  });

  it("prints a table by default and hides the package a later layer deleted", () => {
    const { code, stdout } = stowaway(["sbom", `oci-archive:${demo}`, "--no-cache"]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^NAME\s+VERSION\s+TYPE\s+LAYER/m);
    expect(stdout).toMatch(/^cowsay\s+1\.4\.0\s+npm\s+1/m);
    expect(stdout).not.toContain("left-pad-tmp");
  });

  it("writes --output atomically and leaves no temp files", () => {
    const out = path.join(workDir(), "reports", "inventory.json");
    const { code, stdout } = stowaway(["sbom", `oci-archive:${demo}`, "-f", "json", "--output", out, "--no-cache"]);
    expect(code).toBe(0);
    expect(stdout).toBe("");
    expect(JSON.parse(readFileSync(out, "utf8")).schemaVersion).toBe(1);
    expect(readdirSync(path.dirname(out))).toEqual(["inventory.json"]);
  });

  it("reads layers from the cache on a rescan", () => {
    const cacheDir = path.join(workDir(), "warm");
    stowaway(["sbom", `oci-archive:${demo}`, "--cache-dir", cacheDir]);
    const warm = stowaway(["sbom", `oci-archive:${demo}`, "--cache-dir", cacheDir, "--progress"]);
    expect(warm.code).toBe(0);
    expect(warm.stderr).toContain("layers 4/4 (cached)");
  });

  it("answers a warm rescan from the inventory cache alone, byte-identical to the cold scan", () => {
    const cacheDir = path.join(workDir(), "inventory-only");
    const args = ["sbom", `oci-archive:${demo}`, "-f", "json", "--cache-dir", cacheDir];
    const cold = stowaway(args);
    expect(cold.code, cold.stderr).toBe(0);
    // The bundle keys the inventory cache with the analyzer fingerprint baked in at build time; it
    // must be the one the library computes from its catalogers, or every warm scan would miss.
    const bundle = readdirSync(path.join(root, "core/dist/bundle"))
      .map((file) => readFileSync(path.join(root, "core/dist/bundle", file), "utf8"))
      .join("\n");
    expect(bundle).toContain(JSON.stringify(defaultAnalyzerFingerprint()));
    // Without the layer snapshots, the answer can only come from the one inventory file.
    rmSync(path.join(cacheDir, "layers"), { recursive: true, force: true });
    const warm = stowaway(args);
    expect(warm.code, warm.stderr).toBe(0);
    expect(warm.stdout).toBe(cold.stdout);
    expect(readdirSync(cacheDir)).not.toContain("layers");
  });
});

describe("stowaway scan without a vulnerability database", () => {
  it("prints the inventory and says plainly that nothing was checked", () => {
    const { code, stdout, stderr } = stowaway(["scan", `oci-archive:${demo}`, "--no-cache"]);
    expect(code).toBe(0);
    expect(stderr).toMatch(/no vulnerability database configured/);
    expect(stdout).toContain("cowsay");
  });
});

describe("errors are one line, exit 2, no stack trace", () => {
  const cases: [string, string[], RegExp][] = [
    ["a missing archive", ["sbom", "oci-archive:/nonexistent/image.tar"], /\/nonexistent\/image\.tar/],
    ["a file that is not an image", ["sbom", `docker-archive:${path.join(root, "README.md")}`], /README\.md/],
    ["a malformed platform", ["sbom", `oci-archive:${demo}`, "--platform", "linux"], /platform/i],
    [
      "a username without a password",
      ["sbom", `oci-archive:${demo}`, "--username", "u"],
      /--username and --password go together/,
    ],
    ["an unknown format", ["sbom", `oci-archive:${demo}`, "--format", "xml"], /xml/],
  ];
  it.each(cases)("%s", (_name, args, message) => {
    const { code, stderr } = stowaway(args);
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
    expect(stderr).not.toMatch(/^\s+at /m);
    expect(stderr.trim().split("\n")).toHaveLength(1);
  });

  it("shows the stack with --debug", () => {
    const { code, stderr } = stowaway(["sbom", "oci-archive:/nonexistent/image.tar", "--debug"]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/^\s+at /m);
  });
});
