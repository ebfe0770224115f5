import { describe, expect, it } from "vitest";
import { createDotnetCataloger, isDepsJson } from "../../src/catalog/dotnet/index.js";
import { describeWithShared, sharedPath } from "../helpers/shared.js";
import { analyzeFile, analyzeFixture, python } from "./lang-helpers.js";

const cataloger = createDotnetCataloger();

/** The "package" libraries of a deps.json as Python's json module reads them. */
function packageLibraries(file: string): [string, string][] {
  return python<[string, string][]>(
    `import json, sys
libs = json.load(open(sys.argv[1], encoding="utf-8-sig"))["libraries"]
print(json.dumps(sorted(k.split("/", 1) for k, v in libs.items() if v["type"] == "package")))`,
    file,
  );
}

describeWithShared(".NET cataloger on real deps.json files", () => {
  it.each([
    "fixtures/snyk-docker-plugin/dotnet/VulnApp.deps.json",
    "fixtures/snyk-docker-plugin/dotnet/SelfContained.deps.json",
    "fixtures/snyk-docker-plugin/dotnet/WithFramework.deps.json",
    "fixtures/syft/dotnet/testdata/dir-example-1/TestLibrary.deps.json",
    "fixtures/syft/dotnet/testdata/deps-with-referenceassembly/MyApp.deps.json",
  ])("reports the package libraries of %s, not the project, runtime packs or reference assemblies", async (fixture) => {
    const file = sharedPath(fixture);
    const expected = packageLibraries(file);
    expect(expected.length).toBeGreaterThan(0);
    const location = `app/${fixture.split("/").pop()}`;
    const { wanted, packages, warnings } = await analyzeFixture(cataloger, file, location);
    expect(wanted).toBe(true);
    expect(warnings).toEqual([]);
    expect(packages.map((p) => [p.name, p.version]).sort()).toEqual(expected);
    for (const pkg of packages)
      expect(pkg).toMatchObject({
        type: "nuget",
        ecosystem: "NuGet",
        purl: `pkg:nuget/${pkg.name}@${pkg.version}`,
        locations: [location],
      });
  });
});

describe(".NET cataloger on synthetic input", () => {
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
