import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { buildZip } from "../helpers/zip-builder.js";
import { catalogLayers } from "../../src/catalog/inventory.js";
import {
  createJavaCataloger,
  parseManifestMainSection,
  parseProperties,
  WELL_KNOWN_GROUPS,
  wellKnownGroupId,
} from "../../src/catalog/java/index.js";
import type { PackageCandidate } from "../../src/catalog/types.js";
import { SpooledFile } from "../../src/image/spooled-file.js";
import { scan } from "../../src/scan.js";
import { NO_OS, walkWithFileCataloger } from "../helpers/layer-walk.js";
import { describeWithShared, sharedPath } from "../helpers/shared.js";
import { analyzeFile, analyzeFixture, python } from "./lang-helpers.js";

const tempDir = mkdtempSync(path.join(os.tmpdir(), "stowaway-lang-java-"));
afterAll(() => rmSync(tempDir, { recursive: true, force: true }));

const cataloger = createJavaCataloger({ tempDir });

interface ExpectedPom {
  location: string;
  groupId: string;
  artifactId: string;
  version: string;
}

/**
 * Every pom.properties in a Java archive, or in every archive of a docker-save image, found by
 * Python's zipfile and tarfile: nested archives are opened at any depth, locations joined with "!/".
 */
const POM_WALKER = `
import io, json, re, sys, tarfile, zipfile
ARCHIVE = re.compile(r"\\.(jar|war|ear|par|jpi|hpi|sar|nar|kar)$", re.I)
POM = re.compile(r"^META-INF/maven/[^/]+/[^/]+/pom\\.properties$")
found = []
def props(text):
    out = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#!": continue
        key, _, value = re.split(r"\\s*[=:]\\s*|\\s+", line, maxsplit=1)[0], None, None
        m = re.match(r"([^=:\\s]+)\\s*[=:\\s]\\s*(.*)$", line)
        if m: out[m.group(1)] = m.group(2).strip()
    return out
def walk(data, location):
    try: z = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile: return
    for name in z.namelist():
        if POM.match(name):
            p = props(z.read(name).decode("utf8"))
            if all(k in p for k in ("groupId", "artifactId", "version")):
                found.append({"location": location, "groupId": p["groupId"], "artifactId": p["artifactId"], "version": p["version"]})
        elif ARCHIVE.search(name) and not name.endswith("/"):
            walk(z.read(name), location + "!/" + name)
src, as_path = sys.argv[1], sys.argv[2]
if as_path == "--image":
    image = tarfile.open(src)
    for member in image.getmembers():
        if not member.name.endswith("layer.tar"): continue
        layer = tarfile.open(fileobj=image.extractfile(member))
        for entry in layer.getmembers():
            if entry.isfile() and ARCHIVE.search(entry.name):
                walk(layer.extractfile(entry).read(), entry.name.lstrip("./"))
else:
    walk(open(src, "rb").read(), as_path)
print(json.dumps(found))
`;

function expectedPoms(source: string, asPath: string): ExpectedPom[] {
  return python<ExpectedPom[]>(POM_WALKER, source, asPath);
}

const pomKey = (p: { location: string; name: string; version: string }) => `${p.location} ${p.name}@${p.version}`;
const fromPoms = (poms: ExpectedPom[]) =>
  poms.map((p) => pomKey({ location: p.location, name: `${p.groupId}:${p.artifactId}`, version: p.version })).sort();
const pomIdentified = (packages: PackageCandidate[]) =>
  packages
    .filter((p) => p.metadata?.identifiedBy === "pom.properties")
    .map((p) => pomKey({ location: p.locations[0]!, name: p.name, version: p.version }))
    .sort();

describeWithShared("java cataloger on real archives", () => {
  const archives = sharedPath("fixtures/java-archives");

  it.each([
    ["trivy-test.war", "usr/local/tomcat/webapps/test.war"],
    ["trivy-test.par", "opt/app/test.par"],
  ])("finds every pom.properties of %s, nested archives included", async (fixture, at) => {
    const expected = expectedPoms(`${archives}/${fixture}`, at);
    expect(expected.length).toBeGreaterThan(0);
    const { packages, warnings } = await analyzeFixture(cataloger, `${archives}/${fixture}`, at);
    expect(warnings).toEqual([]);
    expect(pomIdentified(packages)).toEqual(fromPoms(expected));
    for (const pkg of packages) {
      const { groupId, artifactId } = pkg.metadata as { groupId: string; artifactId: string };
      expect(pkg).toMatchObject({ type: "maven", ecosystem: "Maven" });
      expect(pkg.purl).toBe(`pkg:maven/${groupId}/${artifactId}@${pkg.version}`);
    }
  });

  it("identifies a jar without pom.properties from its manifest, its groupId from the well-known table", async () => {
    const fixture = `${archives}/trivy-test.jar`;
    expect(expectedPoms(fixture, "x")).toEqual([]);
    const manifest = execFileSync("unzip", ["-p", fixture, "META-INF/MANIFEST.MF"], { encoding: "utf8" });
    const header = (key: string) => new RegExp(`^${key}: (.+)$`, "m").exec(manifest)?.[1]?.trim();
    // Tomcat's websocket jar: Bundle-SymbolicName org.apache.tomcat-embed-websocket, but Maven publishes
    // it as org.apache.tomcat.embed:tomcat-embed-websocket, so the OSGi name must not become the group.
    expect(header("Bundle-SymbolicName")).toBe("org.apache.tomcat-embed-websocket");
    const { packages, warnings } = await analyzeFixture(cataloger, fixture, "app/websocket.jar");
    expect(warnings).toEqual([]);
    expect(packages).toHaveLength(1);
    expect(packages[0]).toMatchObject({
      name: "org.apache.tomcat.embed:tomcat-embed-websocket",
      version: header("Implementation-Version"),
      purl: `pkg:maven/org.apache.tomcat.embed/tomcat-embed-websocket@${header("Implementation-Version")}`,
      locations: ["app/websocket.jar"],
      metadata: {
        groupId: "org.apache.tomcat.embed",
        artifactId: header("Bundle-Name"),
        identifiedBy: "manifest",
        groupIdSource: "well-known",
      },
    });
  });

  it("reads a spilled (on-disk) archive through random access, as the walker hands big files over", async () => {
    const fixture = `${archives}/trivy-test.war`;
    const spool = new SpooledFile(tempDir, 4096);
    const { readFileSync } = await import("node:fs");
    await spool.write(readFileSync(fixture));
    try {
      const content = await spool.content("srv/test.war", 0o644);
      const warnings: string[] = [];
      const packages = await cataloger.analyze(content, { warnings });
      expect(pomIdentified(packages)).toEqual(fromPoms(expectedPoms(fixture, "srv/test.war")));
    } finally {
      await spool.dispose();
    }
  });
});

describeWithShared("java cataloger on real images, end to end", () => {
  const images = sharedPath("images/snyk-docker-plugin/docker-archives/docker-save");

  it.each([
    "java-uberjar.tar",
    "3-level-jar.tar",
    "war-with-3-level-jar.tar",
    "sibling-uberjars-deepest-first.tar",
    "sibling-uberjars-shallowest-first.tar",
    "top-level.tar",
  ])("scan() of %s reports every pom.properties at its nested path", async (image) => {
    const expected = expectedPoms(`${images}/${image}`, "--image");
    expect(expected.length).toBeGreaterThan(0);
    const result = await scan(`docker-archive:${images}/${image}`, { cacheDir: mkdtempSync(path.join(tempDir, "c-")) });
    const maven = result.packages.filter((p) => p.type === "maven");
    expect(pomIdentified(maven)).toEqual([...new Set(fromPoms(expected))].sort());
  });

  it("java.tar's jars (its layer fails the diff_id check, so they are read directly): manifest-only and empty jars", async () => {
    // java.tar's layer does not hash to its config's diff_id, so scan() rightly refuses the image;
    // its jars are still real-world archives worth reading one by one.
    const out = path.join(tempDir, "java-tar");
    const jars = python<string[]>(
      `import json, os, sys, tarfile
image = tarfile.open(sys.argv[1]); out = sys.argv[2]; names = []
for m in image.getmembers():
    if not m.name.endswith("/layer.tar"): continue
    for e in tarfile.open(fileobj=image.extractfile(m)).getmembers():
        if e.isfile() and e.name.endswith(".jar"):
            target = os.path.join(out, e.name); os.makedirs(os.path.dirname(target), exist_ok=True)
            open(target, "wb").write(tarfile.open(fileobj=image.extractfile(m)).extractfile(e.name).read()); names.append(e.name)
print(json.dumps(sorted(set(names))))`,
      `${images}/java.tar`,
      out,
    );
    expect(jars).toContain("app/activation-1.1.1.jar");
    const activationJar = path.join(out, "app/activation-1.1.1.jar");
    const manifest = execFileSync("unzip", ["-p", activationJar, "META-INF/MANIFEST.MF"], { encoding: "utf8" });
    const header = (key: string) => new RegExp(`^${key}: (.+)$`, "m").exec(manifest)?.[1]?.trim();
    const activation = await analyzeFixture(cataloger, activationJar, "app/activation-1.1.1.jar");
    expect(activation.packages).toHaveLength(1);
    // Implementation-Vendor-Id is "com.sun", a vendor: the jar is javax.activation:activation on Maven Central.
    expect(header("Implementation-Vendor-Id")).toBe("com.sun");
    expect(activation.packages[0]).toMatchObject({
      name: "javax.activation:activation",
      version: header("Implementation-Version"),
      metadata: {
        groupId: "javax.activation",
        artifactId: "activation",
        identifiedBy: "manifest",
        groupIdSource: "well-known",
      },
    });
    // some-jar.jar is an empty file: nothing to read and nothing worth a warning.
    const empty = await analyzeFixture(
      cataloger,
      path.join(out, "usr/gradle/caches/some-jar.jar"),
      "usr/gradle/caches/some-jar.jar",
    );
    expect(empty).toEqual({ wanted: false, packages: [], warnings: [] });
  });
});

/** `store` keeps entries uncompressed, as jars nest jars. */
const zip = (entries: Record<string, Buffer | string>, store = false): Promise<Buffer> => buildZip(entries, { store });

const pom = (groupId: string, artifactId: string, version: string) =>
  `#Generated by Maven\ngroupId=${groupId}\nartifactId=${artifactId}\nversion=${version}\n`;
const pomEntry = (groupId: string, artifactId: string, version: string) => ({
  [`META-INF/maven/${groupId}/${artifactId}/pom.properties`]: pom(groupId, artifactId, version),
});

describe("java cataloger on synthetic archives", () => {
  it("prefers the pom.properties named like the jar and reports shaded ones as embedded", async () => {
    const jar = await zip({
      ...pomEntry("com.nimbusds", "nimbus-jose-jwt", "9.8.1"),
      ...pomEntry("net.minidev", "json-smart", "2.4.2"),
      "META-INF/MANIFEST.MF": "Manifest-Version: 1.0\nImplementation-Title: wrong\nImplementation-Version: 0.0\n",
    });
    const { packages, warnings } = await analyzeFile(cataloger, "app/lib/nimbus-jose-jwt-9.8.1.jar", jar);
    expect(warnings).toEqual([]);
    expect(packages.map((p) => [p.name, p.version, p.metadata?.embedded ?? false, p.locations[0]])).toEqual([
      ["com.nimbusds:nimbus-jose-jwt", "9.8.1", false, "app/lib/nimbus-jose-jwt-9.8.1.jar"],
      ["net.minidev:json-smart", "2.4.2", true, "app/lib/nimbus-jose-jwt-9.8.1.jar"],
    ]);
    expect(packages[1]!.metadata?.pomProperties).toBe("META-INF/maven/net.minidev/json-smart/pom.properties");
  });

  it("falls back to the file name, and skips archives with no identity at all", async () => {
    const named = await analyzeFile(cataloger, "libs/commons-lang3-3.12.0.jar", await zip({ "a.class": "x" }));
    expect(named.packages.map((p) => [p.name, p.version, p.purl, p.metadata?.identifiedBy])).toEqual([
      ["commons-lang3", "3.12.0", "", "filename"],
    ]);
    const anonymous = await analyzeFile(cataloger, "libs/level-3-jar.jar", await zip({ "a.class": "x" }));
    expect(anonymous).toMatchObject({ packages: [], warnings: [] });
  });

  it("never takes a groupId from OSGi or vendor headers: the coordinate is reported incomplete instead", async () => {
    // A bnd-built bundle as the Maven Bundle Plugin writes it, plus Maven archiver's vendor header.
    const manifest = [
      "Manifest-Version: 1.0",
      "Bundle-ManifestVersion: 2",
      "Bundle-SymbolicName: org.example.widgets.widget-core;singleton:=true",
      "Bundle-Name: widget-core",
      "Bundle-Version: 2.3.1",
      "Implementation-Vendor-Id: org.example",
      'Export-Package: org.example.widgets;version="2.3.1"',
      "Created-By: Apache Maven Bundle Plugin 5.1.8",
      "",
    ].join("\r\n");
    const { packages, warnings } = await analyzeFile(
      cataloger,
      "opt/app/plugins/widgets.jar",
      await zip({ "META-INF/MANIFEST.MF": manifest, "org/example/widgets/Widget.class": "x" }),
    );
    expect(warnings).toEqual([]);
    expect(packages).toEqual([
      expect.objectContaining({
        name: "widget-core",
        version: "2.3.1",
        type: "maven",
        ecosystem: "Maven",
        purl: "",
        metadata: {
          artifactId: "widget-core",
          identifiedBy: "manifest",
          groupIdSource: "none",
          incompleteCoordinates: true,
        },
      }),
    ]);
  });

  it("keeps a versioned jar whose manifest titles are prose and whose file name has no version", async () => {
    // Tomcat's own lib/catalina.jar (built with Ant: no pom.properties, no OSGi headers).
    const manifest = [
      "Manifest-Version: 1.0",
      "Ant-Version: Apache Ant 1.10.7",
      "Created-By: 1.8.0_232-b09 (Oracle Corporation)",
      "Implementation-Title: Apache Tomcat",
      "Implementation-Vendor: Apache Software Foundation",
      "Implementation-Version: 9.0.30",
      "Specification-Title: Apache Tomcat",
      "Specification-Version: 9.0",
      "",
      "Name: org/apache/catalina/",
      "Implementation-Version: 9.0.30",
      "",
    ].join("\r\n");
    const { packages } = await analyzeFile(
      cataloger,
      "usr/local/tomcat/lib/catalina.jar",
      await zip({ "META-INF/MANIFEST.MF": manifest, "org/apache/catalina/Server.class": "x" }),
    );
    expect(packages.map((p) => [p.name, p.version, p.purl, p.metadata?.groupIdSource])).toEqual([
      ["catalina", "9.0.30", "", "none"],
    ]);
    expect(packages[0]!.metadata?.incompleteCoordinates).toBe(true);
  });

  it("completes well-known Gradle-built jars, which carry no pom.properties, from the table", async () => {
    // spring-core as Spring's Gradle build writes its manifest.
    const manifest =
      "Manifest-Version: 1.0\r\nImplementation-Title: spring-core\r\nAutomatic-Module-Name: spring.core\r\n" +
      "Implementation-Version: 5.3.9\r\nCreated-By: 1.8.0_292 (AdoptOpenJDK)\r\n\r\n";
    const { packages } = await analyzeFile(
      cataloger,
      "app/BOOT-INF/lib/spring-core-5.3.9.jar",
      await zip({ "META-INF/MANIFEST.MF": manifest }),
    );
    expect(packages.map((p) => [p.name, p.version, p.purl, p.metadata?.groupIdSource])).toEqual([
      ["org.springframework:spring-core", "5.3.9", "pkg:maven/org.springframework/spring-core@5.3.9", "well-known"],
    ]);
    expect(packages[0]!.metadata?.incompleteCoordinates).toBeUndefined();
  });

  it("recurses into nested archives down to the depth limit and says where it stopped", async () => {
    let inner = await zip(pomEntry("org.depth", "level-6", "1.0.0"));
    for (let level = 5; level >= 1; level--)
      inner = await zip(
        { ...pomEntry("org.depth", `level-${level}`, "1.0.0"), [`lib/level-${level + 1}-1.0.0.jar`]: inner },
        true,
      );
    const outer = await zip({ ...pomEntry("org.depth", "level-0", "1.0.0"), "lib/level-1-1.0.0.jar": inner }, true);
    const { packages, warnings } = await analyzeFile(cataloger, "app/level-0-1.0.0.jar", outer);
    expect(packages.map((p) => p.name)).toEqual([0, 1, 2, 3, 4].map((level) => `org.depth:level-${level}`));
    expect(packages[2]!.locations).toEqual(["app/level-0-1.0.0.jar!/lib/level-1-1.0.0.jar!/lib/level-2-1.0.0.jar"]);
    expect(warnings).toEqual([
      'inventory-incomplete: "app/level-0-1.0.0.jar!/lib/level-1-1.0.0.jar!/lib/level-2-1.0.0.jar!/lib/level-3-1.0.0.jar!/lib/level-4-1.0.0.jar!/lib/level-5-1.0.0.jar" not read by java: not opened, nested deeper than 4 archives',
    ]);
  });

  it("refuses a zip bomb with a warning and keeps what the rest of the archive says", async () => {
    const bomb = await zip({ "lib/huge-1.0.jar": Buffer.alloc(16 * 1024 * 1024) });
    expect(bomb.length).toBeLessThan(100 * 1024);
    const jar = await zip({ ...pomEntry("org.app", "app", "2.0"), "BOOT-INF/lib/bomb.jar": bomb }, true);
    const outer = await analyzeFile(cataloger, "app/app-2.0.jar", jar);
    expect(outer.packages.map((p) => p.name)).toEqual(["org.app:app"]);
    expect(outer.warnings).toHaveLength(1);
    expect(outer.warnings[0]).toMatch(
      /^inventory-incomplete: "app\/app-2\.0\.jar!\/BOOT-INF\/lib\/bomb\.jar!\/lib\/huge-1\.0\.jar" not read by java: skipped, compression ratio \d+:1 looks like a zip bomb$/,
    );
    const bigPom = await zip({ "META-INF/maven/a/b/pom.properties": Buffer.alloc(3 * 1024 * 1024, 0x23) });
    const metadataBomb = await analyzeFile(cataloger, "app/b-1.0.jar", bigPom);
    expect(metadataBomb.warnings[0]).toMatch(
      /^inventory-incomplete: "app\/b-1\.0\.jar!\/META-INF\/maven\/a\/b\/pom\.properties" not read by java: skipped, \d+ bytes, over the 1048576-byte limit/,
    );
  });

  it("bounds entries and total inflated bytes per image file", async () => {
    const many = await zip(Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`c${i}.class`, "x"])));
    const limited = createJavaCataloger({ limits: { maxEntries: 10 } });
    const result = await analyzeFile(limited, "app/many-1.0.jar", many);
    expect(result.packages).toEqual([]);
    expect(result.warnings).toEqual([
      'inventory-incomplete: "app/many-1.0.jar" not read by java: 50 entries, over the 10 limit',
    ]);

    const nested = await zip(
      { "lib/a-1.0.jar": await zip(pomEntry("g", "a", "1.0")), "lib/b-1.0.jar": await zip(pomEntry("g", "b", "1.0")) },
      true,
    );
    const budget = createJavaCataloger({ limits: { maxTotalInflatedBytes: 300 } });
    const bounded = await analyzeFile(budget, "app/outer.jar", nested);
    expect(bounded.packages.length).toBeLessThan(2);
    expect(bounded.warnings.some((w) => w.includes("would inflate more than 300 bytes"))).toBe(true);
  });

  it("spills a nested archive too big for memory to a temp file and removes it", async () => {
    const inner = await zip({ ...pomEntry("org.big", "big", "1.0"), "filler.bin": Buffer.alloc(200_000, 7) }, true);
    const outer = await zip({ "WEB-INF/lib/big-1.0.jar": inner }, true);
    const spillDir = mkdtempSync(path.join(tempDir, "spill-"));
    const spilling = createJavaCataloger({ tempDir: spillDir, limits: { maxInMemoryNestedBytes: 1024 } });
    const { packages, warnings } = await analyzeFile(spilling, "srv/app.war", outer);
    expect(warnings).toEqual([]);
    expect(packages.map((p) => [p.name, p.locations[0]])).toEqual([
      ["org.big:big", "srv/app.war!/WEB-INF/lib/big-1.0.jar"],
    ]);
    expect(readdirSync(spillDir)).toEqual([]);
  });

  it("reports a corrupt entry once, clearly, and keeps what the rest of the archive says", async () => {
    const manifest = "Manifest-Version: 1.0\nImplementation-Title: broken\n".repeat(20);
    const jar = Buffer.from(await zip({ "META-INF/MANIFEST.MF": manifest, ...pomEntry("org.ok", "ok", "1.0") }));
    // The manifest is the first entry: its deflate data starts after the 30-byte local header and its name.
    const dataStart = 30 + "META-INF/MANIFEST.MF".length;
    jar.fill(0xff, dataStart, dataStart + 8);
    const { packages, warnings } = await analyzeFile(cataloger, "app/ok-1.0.jar", jar);
    expect(packages.map((p) => p.name)).toEqual(["org.ok:ok"]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^java: app\/ok-1\.0\.jar!\/META-INF\/MANIFEST\.MF: unreadable: /);
    expect(warnings[0]).not.toMatch(/\n|\bat \w+ \(/);
  });

  it("warns about corrupt archives instead of throwing", async () => {
    const good = await zip({ ...pomEntry("org.ok", "ok", "1.0"), "lib/inner-1.0.jar": "PK not really a zip" }, true);
    const truncated = good.subarray(0, good.length - 30);
    for (const [name, data] of [
      ["app/text.jar", Buffer.from("just text")],
      ["app/truncated.jar", truncated],
      ["app/junk.jar", Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 7919) % 256))],
    ] as const) {
      const { packages, warnings } = await analyzeFile(cataloger, name, data);
      expect(packages, name).toEqual([]);
      expect(warnings, name).toHaveLength(1);
      expect(warnings[0], name).toMatch(new RegExp(`^java: ${name.replace(".", "\\.")}: not a readable archive`));
    }
    const nestedBad = await analyzeFile(cataloger, "app/ok-1.0.jar", good);
    expect(nestedBad.packages.map((p) => p.name)).toEqual(["org.ok:ok"]);
    expect(nestedBad.warnings).toHaveLength(1);
    expect(nestedBad.warnings[0]).toMatch(/^java: app\/ok-1\.0\.jar!\/lib\/inner-1\.0\.jar: not a readable archive/);
  });
});

describe("java archives in the layer walk", () => {
  it("drops a jar's packages, nested ones included, when a later layer deletes the jar", async () => {
    const jar = await zip(
      {
        ...pomEntry("org.app", "app", "1.0"),
        "BOOT-INF/lib/dep-2.0.jar": await zip(pomEntry("org.dep", "dep", "2.0")),
      },
      true,
    );
    const kept = await zip(pomEntry("org.kept", "kept", "3.0"));
    const layers = await walkWithFileCataloger(
      cataloger,
      tempDir,
      [
        { path: "app/app-1.0.jar", content: jar },
        { path: "app/kept-3.0.jar", content: kept },
      ],
      [{ path: "app/.wh.app-1.0.jar" }],
    );
    expect(catalogLayers(layers.slice(0, 1), [cataloger], NO_OS).packages.map((p) => p.name)).toEqual([
      "org.app:app",
      "org.dep:dep",
      "org.kept:kept",
    ]);
    expect(catalogLayers(layers, [cataloger], NO_OS).packages.map((p) => p.name)).toEqual(["org.kept:kept"]);
  });
});

describe("the well-known groupId table", () => {
  it("names each artifactId once, under a Maven-shaped groupId", () => {
    const artifactIds = Object.values(WELL_KNOWN_GROUPS).flat();
    expect(new Set(artifactIds).size).toBe(artifactIds.length);
    for (const [groupId, ids] of Object.entries(WELL_KNOWN_GROUPS)) {
      expect(groupId).toMatch(/^[a-z][a-z0-9-]*(?:\.[a-z0-9-]+)*$/);
      for (const id of ids) expect(wellKnownGroupId(id)).toBe(groupId);
    }
    // Case-sensitive, as Maven coordinates are; unknown names have no group.
    expect(wellKnownGroupId("Spring-Core")).toBeUndefined();
    expect(wellKnownGroupId("widget-core")).toBeUndefined();
  });
});

describe("java metadata parsers", () => {
  it("reads java.util.Properties syntax", () => {
    const properties = parseProperties("# c\n! c\nartifactId: a\\\n  b\ngroupId = org.x\nversion 1.0\\u002d1\n");
    expect(Object.fromEntries(properties)).toEqual({ artifactId: "ab", groupId: "org.x", version: "1.0-1" });
  });

  it("reads only the manifest's main section, joining continuation lines", () => {
    const manifest = parseManifestMainSection(
      "Manifest-Version: 1.0\r\nImplementation-Title: very-long-arti\r\n fact-name\r\n\r\nName: x/\r\nImplementation-Title: per-entry\r\n",
    );
    expect(manifest.get("implementation-title")).toBe("very-long-artifact-name");
    expect(manifest.size).toBe(2);
  });
});
