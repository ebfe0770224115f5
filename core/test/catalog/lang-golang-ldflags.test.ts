import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createGoBinaryCataloger,
  ldflagsVersion,
  splitFlags,
  stringAssignments,
  unquoteSetting,
} from "../../src/catalog/golang/index.js";
import { analyzeFile, hasCommand } from "./lang-helpers.js";

const cataloger = createGoBinaryCataloger();
const HAS_GO = hasCommand("go", "version");
const NO_GO = "skipped: the Go toolchain is not installed (apt-get install golang-go)";
const tempDir = mkdtempSync(path.join(os.tmpdir(), "stowaway-lang-go-ldflags-"));
afterAll(() => rmSync(tempDir, { recursive: true, force: true }));

const MODULE = "example.com/stamped";

describe.skipIf(!HAS_GO)(`go cataloger on binaries stamped with -ldflags -X${HAS_GO ? "" : ` (${NO_GO})`}`, () => {
  const bins: Record<string, string> = {};

  beforeAll(() => {
    // A module with no dependencies, so the build needs no network and no module proxy.
    const src = path.join(tempDir, "src");
    mkdirSync(path.join(src, "internal", "build"), { recursive: true });
    writeFileSync(path.join(src, "go.mod"), `module ${MODULE}\n\ngo 1.17\n`);
    writeFileSync(path.join(src, "internal", "build", "build.go"), 'package build\n\nvar Version = "unset"\n');
    writeFileSync(
      path.join(src, "main.go"),
      `package main\n\nimport (\n\t"fmt"\n\t"${MODULE}/internal/build"\n)\n\nvar version = "dev"\n\nfunc main() { fmt.Println(version, build.Version) }\n`,
    );
    const env = {
      ...process.env,
      GOPATH: path.join(tempDir, "gopath"),
      GOCACHE: path.join(os.tmpdir(), "stowaway-test-gocache"),
      GOFLAGS: "-mod=mod",
      GOPROXY: "off",
      GOTOOLCHAIN: "local",
      CGO_ENABLED: "0",
    };
    const build = (name: string, ldflags: string, extra: string[] = []) => {
      bins[name] = path.join(tempDir, name);
      execFileSync("go", ["build", ...extra, "-ldflags", ldflags, "-o", bins[name]!, "."], {
        cwd: src,
        env,
        stdio: "pipe",
      });
    };
    build("main-v", "-X main.version=v1.2.3");
    build("no-v-stripped", "-s -w -X 'main.version=1.4.0-rc.1' -X main.commit=abc123");
    build("package-var", `-X ${MODULE}/internal/build.Version=v2.0.1`);
    build("dev", "-X main.version=dev");
    build("unstamped", "-s -w");
    // -trimpath keeps -ldflags out of the build info (golang/go#52372): only the stamped string is left.
    build("trimpath", "-X main.version=v3.1.4", ["-trimpath"]);
    build("trimpath-unstamped", "-s -w", ["-trimpath"]);
    build("trimpath-two", `-X main.version=v3.1.4 -X ${MODULE}/internal/build.Version=v0.0.9`, ["-trimpath"]);
  }, 300_000);

  /** What the binary itself prints: the value the linker really stamped (independent of build info). */
  const run = (name: string) => execFileSync(bins[name]!, { encoding: "utf8" }).trim().split(" ");
  /** The toolchain's own reading of the build info. */
  const goVersionM = (name: string) => execFileSync("go", ["version", "-m", bins[name]!], { encoding: "utf8" });
  const mainOf = async (name: string) => {
    const { packages, warnings } = await analyzeFile(
      cataloger,
      "usr/local/bin/stamped",
      readFileSync(bins[name]!),
      0o755,
    );
    expect(warnings).toEqual([]);
    return packages.filter((p) => p.metadata?.main === true);
  };

  it("reports a (devel) main module at the version stamped into main.version, marked as a heuristic", async () => {
    expect(goVersionM("main-v")).toMatch(new RegExp(`\\tmod\\t${MODULE}\\t\\(devel\\)`));
    const [stamped] = run("main-v");
    expect(stamped).toBe("v1.2.3");
    expect(await mainOf("main-v")).toEqual([
      expect.objectContaining({
        name: MODULE,
        version: stamped,
        type: "golang",
        ecosystem: "Go",
        purl: `pkg:golang/example.com/stamped@${stamped}`,
        locations: ["usr/local/bin/stamped"],
        metadata: expect.objectContaining({ main: true, versionSource: "ldflags", ldflagsVariable: "main.version" }),
      }),
    ]);
  });

  it("adds the v a Go module version carries, and reads stripped binaries with several -X flags", async () => {
    const [stamped] = run("no-v-stripped");
    expect(stamped).toBe("1.4.0-rc.1");
    const packages = await mainOf("no-v-stripped");
    expect(packages.map((p) => [p.name, p.version, p.metadata?.versionSource])).toEqual([
      [MODULE, `v${stamped}`, "ldflags"],
    ]);
  });

  it("takes a version variable in the main module's own packages", async () => {
    const [, stamped] = run("package-var");
    expect(stamped).toBe("v2.0.1");
    const packages = await mainOf("package-var");
    expect(packages.map((p) => [p.version, p.metadata?.ldflagsVariable])).toEqual([
      [stamped, `${MODULE}/internal/build.Version`],
    ]);
  });

  it("finds the stamped string in the read-only data when -trimpath kept -ldflags out of the build info", async () => {
    const info = goVersionM("trimpath");
    expect(info).toMatch(/\tbuild\t-trimpath=true/);
    expect(info).not.toMatch(/\tbuild\t-ldflags=/);
    const [stamped] = run("trimpath");
    expect(stamped).toBe("v3.1.4");
    const packages = await mainOf("trimpath");
    expect(packages.map((p) => [p.name, p.version, p.metadata?.versionSource, p.metadata?.ldflagsVariable])).toEqual([
      [MODULE, stamped, "binary-contents", undefined],
    ]);
  });

  it("guesses nothing from the contents when there is no stamp, or two different ones", async () => {
    expect(goVersionM("trimpath-unstamped")).not.toMatch(/\tbuild\t-ldflags=/);
    expect(await mainOf("trimpath-unstamped")).toEqual([]);
    expect(run("trimpath-two")).toEqual(["v3.1.4", "v0.0.9"]);
    expect(await mainOf("trimpath-two")).toEqual([]);
  });

  it("reports no main module when the stamp is not a version or there is none", async () => {
    expect(run("dev")[0]).toBe("dev");
    expect(await mainOf("dev")).toEqual([]);
    expect(await mainOf("unstamped")).toEqual([]);
    // The standard library is still reported for both.
    const { packages } = await analyzeFile(cataloger, "bin/x", readFileSync(bins.dev!), 0o755);
    expect(packages.map((p) => p.name)).toEqual(["stdlib"]);
  });
});

describe("-ldflags parsing", () => {
  it("unquotes build settings as Go's strconv.Quote writes them", () => {
    expect(unquoteSetting(`"-s -w -X 'main.version=v1.2.3'"`)).toBe("-s -w -X 'main.version=v1.2.3'");
    expect(unquoteSetting(`"-X \\"main.version=v1\\" \\x41"`)).toBe('-X "main.version=v1" A');
    expect(unquoteSetting("-X=main.version=v1.0.0")).toBe("-X=main.version=v1.0.0");
  });

  it("splits fields like the go command, quotes kept literal inside", () => {
    expect(splitFlags(`-s  -w -X 'main.name=a b' -X "x.y=c"`)).toEqual([
      "-s",
      "-w",
      "-X",
      "main.name=a b",
      "-X",
      "x.y=c",
    ]);
    expect(stringAssignments("-X=main.version=v1.0.0 --X main.tag=v2.0.0 -X broken")).toEqual([
      { variable: "main.version", value: "v1.0.0" },
      { variable: "main.tag", value: "v2.0.0" },
    ]);
  });

  it("prefers package main, then the module's packages; the last -X for a variable wins", () => {
    const settings = (ldflags: string) => ({ "-ldflags": ldflags });
    expect(
      ldflagsVersion(
        settings("-X github.com/dep/lib.Version=v9.9.9 -X example.com/app/pkg/v.Version=v1.1.0"),
        "example.com/app",
      ),
    ).toMatchObject({ version: "v1.1.0", variable: "example.com/app/pkg/v.Version" });
    expect(
      ldflagsVersion(settings("-X example.com/app/v.Version=v1.1.0 -X main.appVersion=2.0.0"), "example.com/app"),
    ).toMatchObject({ version: "v2.0.0", variable: "main.appVersion" });
    expect(ldflagsVersion(settings("-X main.version=v1.0.0 -X main.version=v1.0.1"), "m")?.version).toBe("v1.0.1");
    expect(ldflagsVersion(settings("-X main.commit=1.2.3 -X main.version=2024.01"), "m")).toBeUndefined();
    expect(ldflagsVersion({}, "m")).toBeUndefined();
  });
});
