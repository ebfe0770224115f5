import { execFileSync } from "node:child_process";
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { alignedMagic } from "../../src/catalog/golang/buildinfo.js";
import { createGoBinaryCataloger, parseModInfo, stdlibVersion } from "../../src/catalog/golang/index.js";
import type { PackageCandidate } from "../../src/catalog/types.js";
import { describeWithShared, sharedPath } from "../helpers/shared.js";
import { analyzeFile, hasCommand, python } from "./lang-helpers.js";

const cataloger = createGoBinaryCataloger();
const HAS_GO = hasCommand("go", "version");
const NO_GO = "skipped: the Go toolchain is not installed (apt-get install golang-go)";
const tempDir = mkdtempSync(path.join(os.tmpdir(), "stowaway-lang-go-"));
afterAll(() => rmSync(tempDir, { recursive: true, force: true }));

interface Expected {
  goVersion: string;
  main?: { path: string; version: string };
  deps: { path: string; version: string }[];
}

/**
 * What `go version -m` prints, with each `=>` line taking the place of the module line before it
 * (the toolchain's own reading of the build info).
 */
function goVersionM(binary: string): Expected {
  // `go version -m` skips files without execute bits, and fixtures in shared/ are read-only.
  const copy = path.join(tempDir, `probe-${path.basename(binary)}`);
  copyFileSync(binary, copy);
  chmodSync(copy, 0o755);
  const out = execFileSync("go", ["version", "-m", copy], { encoding: "utf8" });
  const lines = out.split("\n");
  const expected: Expected = { goVersion: lines[0]!.split(": ")[1]!.trim(), deps: [] };
  let last: { path: string; version: string } | undefined;
  for (const line of lines.slice(1)) {
    const [, kind, modulePath, version] = line.split("\t");
    if (kind === "mod") expected.main = last = { path: modulePath!, version: version ?? "" };
    else if (kind === "dep") expected.deps.push((last = { path: modulePath!, version: version ?? "" }));
    else if (kind === "=>" && last) Object.assign(last, { path: modulePath!, version: version ?? "" });
  }
  return expected;
}

/**
 * Without a Go toolchain: the module text sits in the binary as plain text, so a regular expression
 * over the raw bytes finds it without parsing ELF at all.
 */
function rawModInfo(binary: string): Expected {
  return python<Expected>(
    String.raw`import json, re, sys
data = open(sys.argv[1], "rb").read()
text = re.search(rb"path\t[^\n]*\nmod\t[^\n]*\n(?:(?:dep|=>)\t[^\n]*\n)*", data).group(0).decode()
versions = re.findall(rb"go1\.\d+(?:\.\d+)?", data)
out = {"goVersion": max(set(versions), key=versions.count).decode(), "deps": []}
last = None
for line in text.splitlines():
    f = line.split("\t")
    if f[0] == "mod": out["main"] = last = {"path": f[1], "version": f[2]}
    elif f[0] == "dep": last = {"path": f[1], "version": f[2]}; out["deps"].append(last)
    elif f[0] == "=>" and last: last.update(path=f[1], version=f[2])
print(json.dumps(out))`,
    binary,
  );
}

/** The packages a binary must yield: versioned main module, every dependency, and stdlib. */
function expectedPackages(expected: Expected): string[] {
  const modules = [...(expected.main && expected.main.version !== "(devel)" ? [expected.main] : []), ...expected.deps];
  return [
    ...modules.filter((m) => m.version).map((m) => `${m.path}@${m.version}`),
    `stdlib@${expected.goVersion.replace(/^go/, "")}`,
  ].sort();
}

const nameVersions = (packages: PackageCandidate[]) => packages.map((p) => `${p.name}@${p.version}`).sort();

async function catalogBinary(file: string, at = "usr/local/bin/app") {
  return analyzeFile(cataloger, at, readFileSync(file), 0o755);
}

describeWithShared("go cataloger on a real pre-1.18 binary (pointer-format build info)", () => {
  const binary = sharedPath("fixtures/binaries/go/trivy-executable_gobinary");

  it("reports the dependencies and stdlib the toolchain reports, and skips the (devel) main module", async () => {
    const expected = HAS_GO ? goVersionM(binary) : rawModInfo(binary);
    expect(expected.main?.version).toBe("(devel)");
    const { wanted, packages, warnings } = await catalogBinary(binary);
    expect(wanted).toBe(true);
    expect(warnings).toEqual([]);
    expect(nameVersions(packages)).toEqual(expectedPackages(expected));
    const dep = packages.find((p) => p.name === expected.deps[0]!.path)!;
    const slash = dep.name.lastIndexOf("/");
    expect(dep).toMatchObject({
      type: "golang",
      ecosystem: "Go",
      purl: `pkg:golang/${dep.name.slice(0, slash)}/${dep.name.slice(slash + 1)}@${dep.version}`,
      locations: ["usr/local/bin/app"],
      metadata: { goVersion: expected.goVersion, mainModule: expected.main!.path },
    });
    expect(packages.find((p) => p.name === "stdlib")!.purl).toBe(`pkg:golang/stdlib@${expected.goVersion.slice(2)}`);
  });

  it("finds the build info through the data segment when the section table is gone", async () => {
    const copy = path.join(tempDir, "no-sections-old");
    writeFileSync(copy, stripSectionTable(readFileSync(binary)));
    const { packages, warnings } = await catalogBinary(copy);
    expect(warnings).toEqual([]);
    expect(nameVersions(packages)).toEqual(expectedPackages(HAS_GO ? goVersionM(binary) : rawModInfo(binary)));
  });
});

/** Zeroes e_shoff, e_shnum and e_shstrndx of a 64-bit little-endian ELF, as sstrip-like tools leave binaries. */
function stripSectionTable(elf: Buffer): Buffer {
  const copy = Buffer.from(elf);
  copy.writeBigUInt64LE(0n, 0x28);
  copy.writeUInt16LE(0, 0x3c);
  copy.writeUInt16LE(0, 0x3e);
  return copy;
}

describe.skipIf(!HAS_GO)(`go cataloger on binaries built here with known modules${HAS_GO ? "" : ` (${NO_GO})`}`, () => {
  const work = path.join(tempDir, "build");
  const bins: Record<string, string> = {};

  /** A file-based module proxy: go resolves modules offline from it (GOPROXY=file://). */
  function publish(modulePath: string, version: string, files: Record<string, string>, requires = ""): void {
    const dir = path.join(work, "proxy", modulePath, "@v");
    mkdirSync(dir, { recursive: true });
    const gomod = `module ${modulePath}\n\ngo 1.17\n${requires}`;
    writeFileSync(path.join(dir, `${version}.mod`), gomod);
    writeFileSync(
      path.join(dir, `${version}.info`),
      JSON.stringify({ Version: version, Time: "2023-01-01T00:00:00Z" }),
    );
    writeFileSync(path.join(dir, "list"), `${version}\n`, { flag: "a" });
    python<null>(
      `import json, sys, zipfile
files = json.loads(sys.argv[3])
with zipfile.ZipFile(sys.argv[1], "w") as z:
    for name, content in files.items(): z.writestr(sys.argv[2] + "/" + name, content)
print("null")`,
      path.join(dir, `${version}.zip`),
      `${modulePath}@${version}`,
      JSON.stringify({ "go.mod": gomod, ...files }),
    );
  }

  beforeAll(() => {
    publish("example.com/alpha", "v1.2.3", { "alpha.go": 'package alpha\nfunc Name() string { return "alpha" }\n' });
    publish("example.com/beta", "v0.4.0", { "beta.go": 'package beta\nfunc Name() string { return "beta" }\n' });
    publish("example.com/forked", "v1.5.0", { "beta.go": 'package beta\nfunc Name() string { return "forked" }\n' });
    publish(
      "example.com/tool",
      "v1.3.0",
      { "main.go": 'package main\nimport ("fmt"; "example.com/alpha")\nfunc main() { fmt.Println(alpha.Name()) }\n' },
      "\nrequire example.com/alpha v1.2.3\n",
    );
    const app = path.join(work, "app");
    mkdirSync(app, { recursive: true });
    writeFileSync(
      path.join(app, "go.mod"),
      "module example.com/app\n\ngo 1.17\n\nrequire (\n\texample.com/alpha v1.2.3\n\texample.com/beta v0.4.0\n)\n\nreplace example.com/beta v0.4.0 => example.com/forked v1.5.0\n",
    );
    writeFileSync(
      path.join(app, "main.go"),
      'package main\nimport (\n\t"fmt"\n\t"example.com/alpha"\n\t"example.com/beta"\n)\nfunc main() { fmt.Println(alpha.Name(), beta.Name()) }\n',
    );
    const env = {
      ...process.env,
      GOPATH: path.join(work, "gopath"),
      // The compiled standard library is reused across runs; it is the slow part of cross-compiling.
      GOCACHE: path.join(os.tmpdir(), "stowaway-test-gocache"),
      GOPROXY: `file://${path.join(work, "proxy")}`,
      GOSUMDB: "off",
      GOFLAGS: "-mod=mod -modcacherw",
      GOTOOLCHAIN: "local",
      CGO_ENABLED: "0",
    };
    const build = (name: string, extra: Record<string, string>, args: string[] = []) => {
      bins[name] = path.join(work, name);
      execFileSync("go", ["build", ...args, "-o", bins[name]!, "."], {
        cwd: app,
        env: { ...env, ...extra },
        stdio: "pipe",
      });
    };
    build("amd64", { GOARCH: "amd64" });
    build("386", { GOARCH: "386" });
    build("s390x-stripped", { GOARCH: "s390x" }, ["-ldflags=-s -w"]);
    execFileSync("go", ["install", "example.com/tool@v1.3.0"], {
      env: { ...env, GOBIN: path.join(work, "bin") },
      stdio: "pipe",
    });
    bins.tool = path.join(work, "bin", "tool");
  }, 300_000);

  it.each(["amd64", "386", "s390x-stripped"])(
    "reads the inline build info of a %s binary, the replacement in place of the required module",
    async (name) => {
      const expected = goVersionM(bins[name]!);
      expect(expected.deps.map((d) => d.path)).toContain("example.com/forked");
      const { packages, warnings } = await catalogBinary(bins[name]!);
      expect(warnings).toEqual([]);
      expect(nameVersions(packages)).toEqual(expectedPackages(expected));
      expect(packages.find((p) => p.name === "example.com/forked")!.metadata).toMatchObject({
        replaces: "example.com/beta@v0.4.0",
      });
    },
  );

  it("reports the main module of a binary installed at a version", async () => {
    const expected = goVersionM(bins.tool!);
    expect(expected.main).toEqual({ path: "example.com/tool", version: "v1.3.0" });
    const { packages } = await catalogBinary(bins.tool!, "go/bin/tool");
    expect(nameVersions(packages)).toEqual(expectedPackages(expected));
    expect(packages.find((p) => p.name === "example.com/tool")!.metadata).toMatchObject({ main: true });
  });

  it("reads a new-format binary without its section table", async () => {
    const copy = path.join(work, "no-sections");
    writeFileSync(copy, stripSectionTable(readFileSync(bins.amd64!)));
    const { packages, warnings } = await catalogBinary(copy);
    expect(warnings).toEqual([]);
    expect(nameVersions(packages)).toEqual(expectedPackages(goVersionM(bins.amd64!)));
  });
});

describe("go cataloger on hostile and irrelevant files", () => {
  it("wants executables only and sniffs out non-ELF ones", async () => {
    const script = Buffer.from(`#!/bin/sh\n${"echo hi\n".repeat(500)}`);
    expect((await analyzeFile(cataloger, "usr/bin/script", script, 0o755)).wanted).toBe(false);
    const elfHead = Buffer.alloc(8192);
    Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]).copy(elfHead);
    elfHead.writeUInt16LE(2, 16);
    expect((await analyzeFile(cataloger, "usr/local/go/src/debug/elf/testdata/x", elfHead, 0o644)).wanted).toBe(false);
  });

  it("warns about truncated and garbled ELF files", async () => {
    const header = Buffer.alloc(4096);
    Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]).copy(header);
    header.writeUInt16LE(2, 16);
    header.writeBigUInt64LE(10_000_000n, 0x28); // section table past the end of the file
    header.writeUInt16LE(64, 0x3a);
    header.writeUInt16LE(30, 0x3c);
    const truncated = await analyzeFile(cataloger, "usr/bin/broken", header, 0o755);
    expect(truncated.packages).toEqual([]);
    expect(truncated.warnings).toEqual([]);
    header.writeBigUInt64LE(2048n, 0x28);
    header.writeUInt16LE(64, 0x3c);
    const garbled = await analyzeFile(cataloger, "usr/bin/broken", header, 0o755);
    expect(garbled.packages).toEqual([]);
    expect(garbled.warnings).toEqual([expect.stringMatching(/^golang: usr\/bin\/broken: unreadable ELF: /)]);
  });
});

describe("go build info header search", () => {
  // Go's debug/buildinfo looks for the magic at 16-byte aligned offsets only, with the whole
  // 32-byte header inside the searched bytes.
  const magic = Buffer.from("\xff Go buildinf:", "latin1");
  const area = (size: number, ...at: number[]) => {
    const data = Buffer.alloc(size, 0x2e);
    for (const offset of at) magic.copy(data, offset);
    return data;
  };

  it("takes the first aligned copy of the magic and skips unaligned ones", () => {
    expect(alignedMagic(area(4096, 96))).toBe(96);
    expect(alignedMagic(area(4096, 3, 40, 1024, 2048))).toBe(1024);
    expect(alignedMagic(area(4096, 0))).toBe(0);
  });

  it("finds nothing without an aligned magic followed by a whole header", () => {
    expect(alignedMagic(area(4096))).toBe(-1);
    expect(alignedMagic(area(4096, 17, 33, 4004))).toBe(-1);
    expect(alignedMagic(area(4096, 4064))).toBe(4064);
    expect(alignedMagic(area(4096, 4080))).toBe(-1);
    expect(alignedMagic(area(31, 0))).toBe(-1);
  });
});

describe("go build info text", () => {
  it("applies replacements to the line before them and keeps build settings", () => {
    const info = parseModInfo(
      "path\tex.com/cmd\nmod\tex.com\t(devel)\t\ndep\ta.com/x\tv1.0.0\th1:a=\n=>\tb.com/x\tv1.1.0\th1:b=\ndep\tc.com/y\tv0.1.0\th1:c=\n=>\t../local\t\nbuild\tGOOS=linux\n",
    );
    expect(info.main).toEqual({ path: "ex.com", version: "(devel)" });
    expect(info.deps).toEqual([
      { path: "b.com/x", version: "v1.1.0", sum: "h1:b=", replaces: { path: "a.com/x", version: "v1.0.0" } },
      { path: "../local", version: "", replaces: { path: "c.com/y", version: "v0.1.0" } },
    ]);
    expect(info.settings).toEqual({ GOOS: "linux" });
  });

  it.each([
    ["go1.21.5", "1.21.5"],
    ["go1.20", "1.20.0"],
    ["go1.21rc2", "1.21.0-rc.2"],
    ["go1.19beta1", "1.19.0-beta.1"],
    ["go1.22.0 X:boringcrypto", "1.22.0"],
    ["devel go1.23-4a2b3c Mon Jan 1", undefined],
  ])("stdlib version of %s is %s", (goVersion, expected) => {
    expect(stdlibVersion(goVersion)).toBe(expected);
  });
});
