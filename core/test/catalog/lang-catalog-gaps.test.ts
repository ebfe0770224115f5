import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { buildZip } from "../helpers/zip-builder.js";
import { scan } from "../../src/scan.js";
import { buildImage, buildLayer, writeDockerArchive, type LayerEntry } from "../helpers/image-builder.js";
import { compileSchema2020 } from "../helpers/schema.js";
import { hasCommand } from "./lang-helpers.js";

const tempDir = mkdtempSync(path.join(os.tmpdir(), "stowaway-lang-gaps-"));
afterAll(() => rmSync(tempDir, { recursive: true, force: true }));
const HAS_GO = hasCommand("go", "version");
const schemaFile = path.join(path.dirname(new URL(import.meta.url).pathname), "../../schemas/scan-result.schema.json");

const zip = (entries: Record<string, string>): Promise<Buffer> => buildZip(entries);

/** A Go binary with a (devel) main module whose version is stamped with -ldflags, built offline. */
function stampedGoBinary(): Buffer {
  const src = path.join(tempDir, "go-src");
  mkdirSync(src, { recursive: true });
  writeFileSync(path.join(src, "go.mod"), "module example.com/gaps\n\ngo 1.17\n");
  writeFileSync(path.join(src, "main.go"), 'package main\n\nvar version = "dev"\n\nfunc main() { println(version) }\n');
  const out = path.join(tempDir, "gaps");
  execFileSync("go", ["build", "-ldflags", "-s -w -X main.version=v0.9.1", "-o", out, "."], {
    cwd: src,
    stdio: "pipe",
    env: {
      ...process.env,
      GOPATH: path.join(tempDir, "gopath"),
      GOCACHE: path.join(os.tmpdir(), "stowaway-test-gocache"),
      GOFLAGS: "-mod=mod",
      GOPROXY: "off",
      GOTOOLCHAIN: "local",
      CGO_ENABLED: "0",
    },
  });
  return readFileSync(out);
}

describe("the issue-11 cataloger gaps in one image scan", () => {
  it("reports runtime packs, eggs, groupless jars and ldflags versions, and the result fits the schema", async () => {
    const entries: LayerEntry[] = [
      {
        path: "app/Api.deps.json",
        content: JSON.stringify({
          runtimeTarget: { name: ".NETCoreApp,Version=v8.0/linux-x64", signature: "" },
          targets: {
            ".NETCoreApp,Version=v8.0": {},
            ".NETCoreApp,Version=v8.0/linux-x64": {
              "Api/1.0.0": { runtime: { "Api.dll": {} } },
              "runtimepack.Microsoft.AspNetCore.App.Runtime.linux-x64/8.0.4": {
                runtime: { "Microsoft.AspNetCore.dll": { assemblyVersion: "8.0.0.0", fileVersion: "8.0.424.16909" } },
              },
              "System.Memory/4.5.5": {},
            },
          },
          libraries: {
            "Api/1.0.0": { type: "project", serviceable: false, sha512: "" },
            "runtimepack.Microsoft.AspNetCore.App.Runtime.linux-x64/8.0.4": {
              type: "runtimepack",
              serviceable: false,
              sha512: "",
            },
            "System.Memory/4.5.5": {
              type: "package",
              serviceable: true,
              sha512: "sha512-m",
              path: "system.memory/4.5.5",
            },
          },
        }),
      },
      {
        path: "usr/lib/python3/site-packages/tiny-0.3.0-py3.11.egg",
        content: await zip({
          "EGG-INFO/PKG-INFO": "Metadata-Version: 2.1\nName: tiny\nVersion: 0.3.0\n",
          "tiny/__init__.py": "",
        }),
      },
      {
        path: "opt/plugins/widgets.jar",
        content: await zip({
          "META-INF/MANIFEST.MF":
            "Manifest-Version: 1.0\r\nBundle-SymbolicName: org.example.widget-core\r\nBundle-Name: widget-core\r\nBundle-Version: 2.3.1\r\n\r\n",
        }),
      },
    ];
    if (HAS_GO) entries.push({ path: "usr/local/bin/gaps", content: stampedGoBinary(), mode: 0o755 });
    const archive = path.join(tempDir, "gaps.tar");
    await writeDockerArchive(archive, [{ image: buildImage({ layers: [await buildLayer(entries)] }) }]);
    const result = await scan(`docker-archive:${archive}`, { cacheDir: mkdtempSync(path.join(tempDir, "cache-")) });

    const found = result.packages.map((p) => [p.type, p.name, p.version, p.purl]);
    expect(found).toContainEqual([
      "nuget",
      "Microsoft.AspNetCore.App.Runtime.linux-x64",
      "8.0.4",
      "pkg:nuget/Microsoft.AspNetCore.App.Runtime.linux-x64@8.0.4",
    ]);
    expect(found.filter(([, name]) => name === "System.Memory")).toEqual([]);
    expect(found).toContainEqual(["pypi", "tiny", "0.3.0", "pkg:pypi/tiny@0.3.0"]);
    expect(found).toContainEqual(["maven", "widget-core", "2.3.1", ""]);
    if (HAS_GO) {
      const app = result.packages.find((p) => p.name === "example.com/gaps");
      expect(app).toMatchObject({ version: "v0.9.1", metadata: { versionSource: "ldflags" } });
    }
    const validate = compileSchema2020(schemaFile);
    expect(validate(result), JSON.stringify(validate.errors)).toBe(true);
  }, 300_000);
});
