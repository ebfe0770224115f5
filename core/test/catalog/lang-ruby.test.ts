import { describe, expect, it } from "vitest";
import { createRubyCataloger, isInstalledGemspec } from "../../src/catalog/ruby/index.js";
import { describeWithShared, sharedPath } from "../helpers/shared.js";
import { analyzeFile, analyzeFixture, python } from "./lang-helpers.js";

const cataloger = createRubyCataloger();

/**
 * Name and version from the `# stub: <name> <version>` header RubyGems writes above the
 * assignments, and licences from the file's text: a reading independent of the assignments parsed.
 */
function stubFacts(file: string): { name: string; version: string; licenses: string[] } {
  return python(
    String.raw`import json, re, sys
text = open(sys.argv[1], encoding="utf-8").read()
name, version = re.search(r"^# stub: (\S+) (\S+)", text, re.M).groups()
licenses = re.findall(r'"([^"]+)"', re.search(r"\.licenses = \[(.*)\]", text).group(1))
print(json.dumps({"name": name, "version": version, "licenses": licenses}))`,
    file,
  );
}

describeWithShared("Ruby cataloger on real installed gemspecs", () => {
  it.each(["bundler", "formatador"])("reads %s.gemspec", async (gem) => {
    const file = sharedPath(`fixtures/syft/ruby/testdata/${gem}.gemspec`);
    const expected = stubFacts(file);
    const location = `usr/local/bundle/specifications/${expected.name}-${expected.version}.gemspec`;
    const { wanted, packages, warnings } = await analyzeFixture(cataloger, file, location);
    expect(wanted).toBe(true);
    expect(warnings).toEqual([]);
    expect(packages).toEqual([
      {
        name: expected.name,
        version: expected.version,
        type: "gem",
        ecosystem: "RubyGems",
        purl: `pkg:gem/${expected.name}@${expected.version}`,
        licenses: expected.licenses,
        locations: [location],
      },
    ]);
  });
});

describe("Ruby cataloger on synthetic gemspecs", () => {
  it("wants installed specifications only (default gems included), not gemspecs in source trees", () => {
    expect(isInstalledGemspec("usr/local/bundle/specifications/rack-2.2.3.gemspec")).toBe(true);
    expect(isInstalledGemspec("usr/lib/ruby/gems/3.1.0/specifications/default/json-2.6.1.gemspec")).toBe(true);
    expect(isInstalledGemspec("app/rack.gemspec")).toBe(false);
    expect(isInstalledGemspec("usr/local/bundle/gems/rack-2.2.3/rack.gemspec")).toBe(false);
  });

  it("reads Gem::Version.new, single quotes and `license =`, without executing anything", async () => {
    const spec = [
      "Gem::Specification.new do |spec|",
      "  spec.name = 'nokogiri'",
      '  spec.version = Gem::Version.new("1.15.4")',
      '  spec.license = "MIT"',
      "  system('rm -rf /')",
      "end",
    ].join("\n");
    const at = "usr/lib/ruby/gems/3.1.0/specifications/default/nokogiri-1.15.4-x86_64-linux.gemspec";
    const { packages } = await analyzeFile(cataloger, at, spec);
    expect(packages).toEqual([
      expect.objectContaining({
        name: "nokogiri",
        version: "1.15.4",
        licenses: ["MIT"],
        metadata: { defaultGem: true },
      }),
    ]);
  });

  it("warns about a gemspec without literal name and version", async () => {
    const { packages, warnings } = await analyzeFile(
      cataloger,
      "gems/specifications/x-1.0.gemspec",
      "Gem::Specification.new do |s|\n  s.name = NAME\n  s.version = X::VERSION\nend\n",
    );
    expect(packages).toEqual([]);
    expect(warnings).toEqual(["ruby: gems/specifications/x-1.0.gemspec: no literal name and version"]);
  });
});
