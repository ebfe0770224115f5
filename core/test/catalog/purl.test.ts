import { PackageURL } from "packageurl-js";
import { describe, expect, it } from "vitest";
import { buildPurl, plainPurl } from "../../src/catalog/purl.js";

/** What packageurl-js itself builds (the reference buildPurl's direct path must agree with), "" when it refuses. */
function reference(
  type: string,
  namespace: string | undefined,
  name: string,
  version: string | undefined,
  qualifiers: Record<string, string>,
): string {
  try {
    return new PackageURL(
      type,
      namespace || undefined,
      name,
      version || undefined,
      Object.keys(qualifiers).length ? qualifiers : undefined,
      undefined,
    ).toString();
  } catch {
    return "";
  }
}

const TYPES = ["deb", "apk", "npm", "composer", "alpm", "pypi", "rpm", "gem", "cargo", "nuget", "maven", "golang"];
const NAMES = [
  "requests",
  "Flask_SQLAlchemy",
  "zope.interface",
  "libc6",
  "g++",
  "libstdc++6",
  "Lib_Std++",
  "Newtonsoft.Json",
  "a~b",
  "0ad",
  ".",
  "..",
  "-",
  "with space",
  " padded ",
  "@scope",
  "a/b",
  "ünïcode",
  "per%cent",
  "",
];
const NAMESPACES = [
  "c++",
  undefined,
  "",
  "debian",
  "Alpine",
  "org.apache.commons",
  "@angular",
  "a/b",
  "/lead",
  " x",
  "Some_NS",
];
const VERSIONS = [
  undefined,
  "",
  "2.31.0",
  "1:2.36-9+deb12u4",
  "1.0~rc1",
  "v1.2.3",
  "1.0 beta",
  " 1.0",
  "1.0@x",
  "2.0.0-SNAPSHOT",
  "1.0#frag",
  "é",
];
const QUALIFIERS: Record<string, string>[] = [
  {},
  { arch: "amd64", distro: "debian-12" },
  { distro: "debian-12", arch: "all" },
  { upstream: "bash@5.2.15-2" },
  { arch: "x86_64", epoch: "1", distro: "rocky-9.3" },
  { Arch: "amd64" },
  { "1st": "x" },
  { arch: " amd64" },
  { arch: "a b" },
  { arch: "a~b" },
  { arch: "a*b" },
  { "a.b_c-d": "v.1_2-3" },
  { vcs_url: "git+https://example.com/a%20b?x=1&y=2#frag", arch: "!$'()[]{}|\\^`<>\"" },
  { repository_url: "repo.example.com/maven2", type: "jar", classifier: "sources" },
  { arch: "é" },
  { arch: "tab\tin" },
];

describe("buildPurl's direct path", () => {
  it("builds exactly what packageurl-js builds whenever it builds anything", () => {
    let direct = 0;
    TYPES.forEach((type, t) =>
      NAMESPACES.forEach((namespace, ns) =>
        NAMES.forEach((name, n) =>
          VERSIONS.forEach((version, v) => {
            // Each qualifier set meets every type, namespace, name and version, though not all their combinations.
            const qualifiers = QUALIFIERS[(t + ns + n + v) % QUALIFIERS.length]!;
            const plain = plainPurl(type, namespace || undefined, name, version || undefined, qualifiers);
            const expected = reference(type, namespace, name, version, qualifiers);
            if (plain !== undefined) {
              direct += 1;
              expect(plain, JSON.stringify([type, namespace, name, version, qualifiers])).toBe(expected);
            }
            expect(buildPurl(type, namespace, name, version, qualifiers)).toBe(expected);
          }),
        ),
      ),
    );
    for (const type of TYPES)
      for (const qualifiers of QUALIFIERS)
        expect(buildPurl(type, "ns", "name", "1.0", qualifiers)).toBe(reference(type, "ns", "name", "1.0", qualifiers));
    // The direct path must actually be taken for ordinary packages, or it saves nothing.
    expect(direct).toBeGreaterThan(1_000);
  });

  it("takes the direct path for the usual distro and language packages", () => {
    expect(plainPurl("pypi", undefined, "Flask_SQLAlchemy", "3.1.1", {})).toBe("pkg:pypi/flask-sqlalchemy@3.1.1");
    expect(plainPurl("deb", "debian", "libc6", "2.36-9+deb12u4", { distro: "debian-12", arch: "amd64" })).toBe(
      "pkg:deb/debian/libc6@2.36-9+deb12u4?arch=amd64&distro=debian-12",
    );
    expect(plainPurl("rpm", "RedHat", "Bash", "5.1.8-6.el9", {})).toBe("pkg:rpm/redhat/Bash@5.1.8-6.el9");
    expect(plainPurl("maven", undefined, "commons-lang3", "3.12.0", {})).toBeUndefined();
    expect(plainPurl("golang", "github.com/x", "y", "v1.0.0", {})).toBeUndefined();
    expect(plainPurl("deb", "debian", "bash", "5.2.15-2", { upstream: "bash@5.2.15-2" })).toBe(
      "pkg:deb/debian/bash@5.2.15-2?upstream=bash%405.2.15-2",
    );
    expect(plainPurl("deb", "debian", "bash", "5.2.15-2", { upstream: "bash 5" })).toBeUndefined();
  });
});
