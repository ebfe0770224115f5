import { describe, expect, it } from "vitest";
import { createPhpCataloger, isComposerInstalled } from "../../src/catalog/php/index.js";
import { describeWithShared, sharedPath } from "../helpers/shared.js";
import { analyzeFile, analyzeFixture, python } from "./lang-helpers.js";

const cataloger = createPhpCataloger();

/** name, version and licences of every installed package, as Python's json module reads the file. */
function installed(file: string): { name: string; version: string; license: string[]; dev: boolean }[] {
  return python(
    `import json, sys
d = json.load(open(sys.argv[1]))
pkgs = d if isinstance(d, list) else d["packages"]
dev = set(d.get("dev-package-names", [])) if isinstance(d, dict) else set()
print(json.dumps([{"name": p["name"], "version": p["version"], "license": p.get("license", []), "dev": p["name"] in dev} for p in pkgs]))`,
    file,
  );
}

describeWithShared("PHP cataloger on real installed.json files", () => {
  it.each(["composer_1", "composer_2"])("reads the %s format", async (format) => {
    const file = sharedPath(`fixtures/syft/php/testdata/vendor/${format}/installed.json`);
    const expected = installed(file);
    const location = "var/www/html/vendor/composer/installed.json";
    const { wanted, packages, warnings } = await analyzeFixture(cataloger, file, location);
    expect(wanted).toBe(true);
    expect(warnings).toEqual([]);
    expect(
      packages.map((p) => ({
        name: p.name,
        version: p.version,
        license: p.licenses ?? [],
        dev: p.metadata?.dev === true,
      })),
    ).toEqual(expected);
    for (const pkg of packages) {
      const [vendor, name] = pkg.name.split("/");
      expect(pkg).toMatchObject({
        type: "composer",
        ecosystem: "Packagist",
        purl: `pkg:composer/${vendor}/${name}@${pkg.version}`,
        locations: [location],
      });
    }
  });
});

describe("PHP cataloger on synthetic input", () => {
  it("wants composer's installed.json under any vendor dir, nothing else", () => {
    expect(isComposerInstalled("app/vendor/composer/installed.json")).toBe(true);
    expect(isComposerInstalled("app/lib/composer/installed.json")).toBe(true);
    expect(isComposerInstalled("app/composer.lock")).toBe(false);
    expect(isComposerInstalled("app/vendor/composer/installed.php")).toBe(false);
  });

  it("warns about junk and entries without a version", async () => {
    const junk = await analyzeFile(cataloger, "vendor/composer/installed.json", '{"packages": 5}');
    expect(junk.warnings).toEqual(["php: vendor/composer/installed.json: neither a package array nor a packages list"]);
    const partial = await analyzeFile(
      cataloger,
      "vendor/composer/installed.json",
      JSON.stringify([{ name: "a/b" }, { name: "c/d", version: "1.0.0", license: "MIT" }]),
    );
    expect(partial.packages.map((p) => [p.name, p.licenses])).toEqual([["c/d", ["MIT"]]]);
    expect(partial.warnings).toEqual(["php: vendor/composer/installed.json: package without name or version"]);
  });
});
