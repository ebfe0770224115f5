import { describe, expect, it } from "vitest";
import { createDotnetCataloger, isDepsJson } from "../../src/catalog/dotnet/index.js";
import type { Package, PackageCandidate } from "../../src/catalog/types.js";
import { matchPackages } from "../../src/match/index.js";
import { MemoryStore, readOsvFile } from "../helpers/memory-store.js";
import { describeWithShared, sharedPath } from "../helpers/shared.js";
import { analyzeFile, analyzeFixture, python } from "./lang-helpers.js";

const cataloger = createDotnetCataloger();

/**
 * The libraries a deps.json ships, as Python's json module reads them and by the documented rule:
 * "package" and "runtimepack" libraries whose entry in the runtime target (every target when none is
 * named) lists a runtime, native, resources or runtimeTargets asset other than NuGet's `_._`, and is
 * not compileOnly; the SDK's "runtimepack." key prefix removed.
 */
function shippedLibraries(file: string): [string, string][] {
  return python<[string, string][]>(
    `import json, sys
d = json.load(open(sys.argv[1], encoding="utf-8-sig"))
targets = d.get("targets")
name = (d.get("runtimeTarget") or {}).get("name")
chosen = [targets[name]] if targets and name in targets else list((targets or {}).values())
def ships(key):
    if targets is None: return True
    for t in chosen:
        e = t.get(key)
        if not isinstance(e, dict) or e.get("compileOnly") is True: continue
        for group in ("runtime", "native", "resources", "runtimeTargets"):
            if any(p.split("/")[-1] not in ("", "_._") for p in (e.get(group) or {})): return True
    return False
out = []
for key, lib in d["libraries"].items():
    if lib["type"] not in ("package", "runtimepack") or not ships(key): continue
    n, v = key.split("/", 1)
    if lib["type"] == "runtimepack" and n.startswith("runtimepack."): n = n[len("runtimepack."):]
    out.append([n, v])
print(json.dumps(sorted(out)))`,
    file,
  );
}

const nameVersions = (packages: PackageCandidate[]) => packages.map((p) => [p.name, p.version]).sort();

describeWithShared(".NET cataloger on real deps.json files", () => {
  it.each([
    "fixtures/snyk-docker-plugin/dotnet/VulnApp.deps.json",
    "fixtures/snyk-docker-plugin/dotnet/SelfContained.deps.json",
    "fixtures/snyk-docker-plugin/dotnet/WithFramework.deps.json",
    "fixtures/syft/dotnet/testdata/dir-example-1/TestLibrary.deps.json",
    "fixtures/syft/dotnet/testdata/deps-with-referenceassembly/MyApp.deps.json",
  ])("reports the libraries of %s that ship files, runtime packs included", async (fixture) => {
    const file = sharedPath(fixture);
    const expected = shippedLibraries(file);
    expect(expected.length).toBeGreaterThan(0);
    const location = `app/${fixture.split("/").pop()}`;
    const { wanted, packages, warnings } = await analyzeFixture(cataloger, file, location);
    expect(wanted).toBe(true);
    expect(warnings).toEqual([]);
    expect(nameVersions(packages)).toEqual(expected);
    for (const pkg of packages)
      expect(pkg).toMatchObject({
        type: "nuget",
        ecosystem: "NuGet",
        purl: `pkg:nuget/${pkg.name}@${pkg.version}`,
        locations: [location],
      });
  });

  it("reports a self-contained app's bundled runtime under the runtime pack's NuGet id", async () => {
    const { packages } = await analyzeFixture(
      cataloger,
      sharedPath("fixtures/snyk-docker-plugin/dotnet/SelfContained.deps.json"),
      "app/SelfContained.deps.json",
    );
    // The fixture's libraries: "runtimepack.Microsoft.NETCore.App.Runtime.linux-x64/8.0.27" (type runtimepack).
    expect(packages.find((p) => p.metadata?.runtimePack)).toMatchObject({
      name: "Microsoft.NETCore.App.Runtime.linux-x64",
      version: "8.0.27",
      purl: "pkg:nuget/Microsoft.NETCore.App.Runtime.linux-x64@8.0.27",
      metadata: { runtimePack: true, assets: ["runtime"] },
    });
  });

  it("drops packages whose assets the SDK removed in favour of the shared framework", async () => {
    // VulnApp targets net8.0: its System.Runtime.CompilerServices.Unsafe/6.0.0 target entry is empty.
    const vulnApp = await analyzeFixture(
      cataloger,
      sharedPath("fixtures/snyk-docker-plugin/dotnet/VulnApp.deps.json"),
      "app/VulnApp.deps.json",
    );
    expect(vulnApp.packages.map((p) => p.name)).not.toContain("System.Runtime.CompilerServices.Unsafe");
    expect(vulnApp.packages.map((p) => p.name)).toContain("AutoMapper");
    // TestLibrary (net6.0): System.Diagnostics.DiagnosticSource/6.0.0 has only dependencies.
    const testLibrary = await analyzeFixture(
      cataloger,
      sharedPath("fixtures/syft/dotnet/testdata/dir-example-1/TestLibrary.deps.json"),
      "app/TestLibrary.deps.json",
    );
    const names = testLibrary.packages.map((p) => p.name);
    expect(names).not.toContain("System.Diagnostics.DiagnosticSource");
    expect(names).not.toContain("System.Runtime.CompilerServices.Unsafe");
    expect(names).toContain("Serilog");
  });
});

/**
 * `dotnet publish -r linux-arm --self-contained` of an ASP.NET Core app, in the shape the SDK writes
 * it: both runtime packs keyed "runtimepack.<id>/<version>", and next to the packages that ship
 * something the kinds of library entries that ship nothing.
 */
const SELF_CONTAINED = {
  runtimeTarget: { name: ".NETCoreApp,Version=v9.0/linux-arm", signature: "" },
  compilationOptions: {},
  targets: {
    ".NETCoreApp,Version=v9.0": {},
    ".NETCoreApp,Version=v9.0/linux-arm": {
      "Shop.Api/1.0.0": {
        dependencies: {
          "Newtonsoft.Json": "13.0.3",
          "Humanizer.Core.de": "2.14.1",
          "Microsoft.Data.SqlClient.SNI.runtime": "5.1.1",
          "NETStandard.Library": "2.0.3",
          "Microsoft.AspNetCore.Razor.Design": "2.2.0",
          "System.Runtime": "4.3.0",
          "runtimepack.Microsoft.NETCore.App.Runtime.linux-arm": "9.0.5",
          "runtimepack.Microsoft.AspNetCore.App.Runtime.linux-arm": "9.0.5",
        },
        runtime: { "Shop.Api.dll": {} },
      },
      "runtimepack.Microsoft.NETCore.App.Runtime.linux-arm/9.0.5": {
        runtime: {
          "System.Private.CoreLib.dll": { assemblyVersion: "9.0.0.0", fileVersion: "9.0.525.21509" },
          "System.Text.Json.dll": { assemblyVersion: "9.0.0.0", fileVersion: "9.0.525.21509" },
        },
        native: {
          "libSystem.Native.so": { fileVersion: "0.0.0.0" },
          "libcoreclr.so": { fileVersion: "0.0.0.0" },
        },
      },
      "runtimepack.Microsoft.AspNetCore.App.Runtime.linux-arm/9.0.5": {
        runtime: {
          "Microsoft.AspNetCore.dll": { assemblyVersion: "9.0.0.0", fileVersion: "9.0.525.21604" },
        },
      },
      "Newtonsoft.Json/13.0.3": {
        runtime: { "lib/net6.0/Newtonsoft.Json.dll": { assemblyVersion: "13.0.0.0", fileVersion: "13.0.3.27908" } },
      },
      "Humanizer.Core.de/2.14.1": {
        resources: { "lib/net6.0/de/Humanizer.resources.dll": { locale: "de" } },
      },
      "Microsoft.Data.SqlClient.SNI.runtime/5.1.1": {
        runtimeTargets: {
          "runtimes/win-arm/native/Microsoft.Data.SqlClient.SNI.dll": {
            rid: "win-arm",
            assetType: "native",
            fileVersion: "5.1.1.0",
          },
        },
      },
      "NETStandard.Library/2.0.3": { dependencies: { "Microsoft.NETCore.Platforms": "1.1.0" } },
      "Microsoft.NETCore.Platforms/1.1.0": {},
      "Microsoft.AspNetCore.Razor.Design/2.2.0": {
        compileOnly: true,
        compile: { "lib/netstandard2.0/Microsoft.AspNetCore.Razor.Design.dll": {} },
      },
      "System.Runtime/4.3.0": { runtime: { "lib/netstandard1.0/_._": {} } },
      "Microsoft.CSharp.Reference/4.0.0.0": { compile: { "Microsoft.CSharp.dll": {} } },
    },
  },
  libraries: {
    "Shop.Api/1.0.0": { type: "project", serviceable: false, sha512: "" },
    "runtimepack.Microsoft.NETCore.App.Runtime.linux-arm/9.0.5": {
      type: "runtimepack",
      serviceable: false,
      sha512: "",
    },
    "runtimepack.Microsoft.AspNetCore.App.Runtime.linux-arm/9.0.5": {
      type: "runtimepack",
      serviceable: false,
      sha512: "",
    },
    "Newtonsoft.Json/13.0.3": {
      type: "package",
      serviceable: true,
      sha512: "sha512-HrC5BXdl00IP9zeV+0Z848QWPAoCr9P3bDEZguI+gkLcBKAOxix/tLEAAHC+UvDNPv4a2d18lOReHMOagPa+zQ==",
      path: "newtonsoft.json/13.0.3",
      hashPath: "newtonsoft.json.13.0.3.nupkg.sha512",
    },
    "Humanizer.Core.de/2.14.1": {
      type: "package",
      serviceable: true,
      sha512: "sha512-x",
      path: "humanizer.core.de/2.14.1",
    },
    "Microsoft.Data.SqlClient.SNI.runtime/5.1.1": {
      type: "package",
      serviceable: true,
      sha512: "sha512-y",
      path: "microsoft.data.sqlclient.sni.runtime/5.1.1",
    },
    "NETStandard.Library/2.0.3": { type: "package", serviceable: true, sha512: "sha512-z" },
    "Microsoft.NETCore.Platforms/1.1.0": { type: "package", serviceable: true, sha512: "sha512-p" },
    "Microsoft.AspNetCore.Razor.Design/2.2.0": { type: "package", serviceable: true, sha512: "sha512-r" },
    "System.Runtime/4.3.0": { type: "package", serviceable: true, sha512: "sha512-s" },
    "Microsoft.CSharp.Reference/4.0.0.0": { type: "referenceassembly", serviceable: false, sha512: "" },
  },
};

describe(".NET cataloger on a self-contained app's deps.json", () => {
  it("reports both runtime packs and the packages that ship files, and nothing else", async () => {
    const { packages, warnings } = await analyzeFile(
      cataloger,
      "app/Shop.Api.deps.json",
      JSON.stringify(SELF_CONTAINED),
    );
    expect(warnings).toEqual([]);
    expect(nameVersions(packages)).toEqual([
      ["Humanizer.Core.de", "2.14.1"],
      ["Microsoft.AspNetCore.App.Runtime.linux-arm", "9.0.5"],
      ["Microsoft.Data.SqlClient.SNI.runtime", "5.1.1"],
      ["Microsoft.NETCore.App.Runtime.linux-arm", "9.0.5"],
      ["Newtonsoft.Json", "13.0.3"],
    ]);
    const byName = new Map(packages.map((p) => [p.name, p]));
    expect(byName.get("Microsoft.NETCore.App.Runtime.linux-arm")!.metadata).toEqual({
      runtimePack: true,
      assets: ["runtime", "native"],
    });
    expect(byName.get("Humanizer.Core.de")!.metadata?.assets).toEqual(["resources"]);
    expect(byName.get("Microsoft.Data.SqlClient.SNI.runtime")!.metadata?.assets).toEqual(["runtimeTargets"]);
  });

  it("keeps every library when the file has no targets to tell what ships", async () => {
    const { targets: _targets, ...withoutTargets } = SELF_CONTAINED;
    const { packages } = await analyzeFile(cataloger, "app/Shop.Api.deps.json", JSON.stringify(withoutTargets));
    expect(packages).toHaveLength(
      Object.values(SELF_CONTAINED.libraries).filter((l) => ["package", "runtimepack"].includes(l.type)).length,
    );
    expect(packages.every((p) => p.metadata?.assets === undefined)).toBe(true);
  });

  it("reads every target when the runtime target named is absent", async () => {
    const renamed = { ...SELF_CONTAINED, runtimeTarget: { name: ".NETCoreApp,Version=v9.0/linux-x64" } };
    const { packages } = await analyzeFile(cataloger, "app/Shop.Api.deps.json", JSON.stringify(renamed));
    expect(packages.map((p) => p.name)).toContain("Microsoft.NETCore.App.Runtime.linux-arm");
    expect(packages.map((p) => p.name)).not.toContain("NETStandard.Library");
  });
});

describeWithShared(".NET runtime packs meet the runtime's advisories", () => {
  it("matches the bundled runtime against the real GHSA record filed on its runtime pack", async () => {
    // GHSA-266m-wp2v-x7mq (CVE-2025-30399): Microsoft.NetCore.App.Runtime.linux-arm >= 9.0.0, < 9.0.6.
    const record = readOsvFile(sharedPath("vulns/osv-ghsa/GHSA-266m-wp2v-x7mq.json"));
    const store = new MemoryStore([record]);
    const asPackages = (candidates: PackageCandidate[]): Package[] =>
      candidates.map((c, i) => ({ ...c, id: `p${i}`, layerIndex: 0 }));
    const vulnerable = await analyzeFile(cataloger, "app/Shop.Api.deps.json", JSON.stringify(SELF_CONTAINED));
    const { findings } = await matchPackages(asPackages(vulnerable.packages), store);
    expect(findings.map((f) => [f.id, f.packageName, f.installedVersion])).toEqual([
      ["CVE-2025-30399", "Microsoft.NETCore.App.Runtime.linux-arm", "9.0.5"],
    ]);
    expect(findings[0]!.aliases).toContain("GHSA-266m-wp2v-x7mq");
    const patched = JSON.stringify(SELF_CONTAINED).replaceAll("linux-arm/9.0.5", "linux-arm/9.0.6");
    const fixed = await analyzeFile(cataloger, "app/Shop.Api.deps.json", patched);
    expect(fixed.packages.find((p) => p.metadata?.runtimePack)?.version).toBe("9.0.6");
    expect((await matchPackages(asPackages(fixed.packages), store)).findings).toEqual([]);
  });
});

describe(".NET cataloger on malformed input", () => {
  it("wants deps.json files only", () => {
    expect(isDepsJson("app/MyApp.deps.json")).toBe(true);
    expect(isDepsJson("app/MyApp.runtimeconfig.json")).toBe(false);
    expect(isDepsJson("app/deps.json.bak")).toBe(false);
  });

  it("warns about malformed files and odd keys without throwing", async () => {
    const malformed = await analyzeFile(cataloger, "app/a.deps.json", "{");
    expect(malformed.warnings).toEqual([expect.stringMatching(/^dotnet: app\/a\.deps\.json: malformed JSON/)]);
    const odd = await analyzeFile(
      cataloger,
      "app/b.deps.json",
      JSON.stringify({ libraries: { NoVersion: { type: "package" }, "Ok/1.0.0": { type: "package" }, "P/1": null } }),
    );
    expect(odd.packages.map((p) => `${p.name}@${p.version}`)).toEqual(["Ok@1.0.0"]);
    expect(odd.warnings).toEqual(['dotnet: app/b.deps.json: library key "NoVersion" is not Name/Version']);
  });
});
