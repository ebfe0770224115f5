/**
 * Start-up (issue 13): the built CLI is one bundled file that answers --version and --help without
 * loading @stowaway/core; core is imported by the command that runs. Proven by running the bundle
 * from a directory where core cannot be found at all: the light paths work, a scan cannot.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { CommanderError } from "commander";
import { describe, expect, it } from "vitest";
import { tempDir } from "../../core/test/helpers/temp-dir.js";
import { buildProgram } from "../src/program.js";
import { cliEntry, root } from "./harness.js";

const scratch = tempDir("stowaway-startup-");
const cliVersion = (JSON.parse(readFileSync(path.join(root, "cli/package.json"), "utf8")) as { version: string })
  .version;

/** dist/main.js and package.json copied alone: no node_modules anywhere above them. */
function isolatedBundle(): string {
  const dir = path.join(scratch, "cli");
  mkdirSync(path.join(dir, "dist"), { recursive: true });
  copyFileSync(cliEntry, path.join(dir, "dist/main.js"));
  copyFileSync(path.join(root, "cli/package.json"), path.join(dir, "package.json"));
  return path.join(dir, "dist/main.js");
}

function run(entry: string, args: string[]) {
  const result = spawnSync(process.execPath, [entry, ...args], {
    encoding: "utf8",
    cwd: scratch,
    env: { PATH: process.env.PATH, HOME: scratch },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe("the bundled CLI starts without core", () => {
  it("dist/main.js imports core only with import(), never statically", () => {
    const bundle = readFileSync(cliEntry, "utf8");
    expect(bundle).toMatch(/import\("@stowaway\/core"\)/);
    expect(bundle).not.toMatch(/^\s*(import|export)\s[^;]*\bfrom\s*["']@stowaway\/core/m);
    expect(bundle).not.toMatch(/^\s*import\s*["']@stowaway\/core/m);
  });

  it("answers --version, --help and a command's --help from the bundle alone", () => {
    const entry = isolatedBundle();
    const version = run(entry, ["--version"]);
    expect(version.code, version.stderr).toBe(0);
    expect(version.stdout.trim()).toBe(cliVersion);
    const help = run(entry, ["scan", "--help"]);
    expect(help.code, help.stderr).toBe(0);
    // The format choices come from core's format names, bundled in; cyclonedx is one of them.
    expect(help.stdout).toMatch(/"cyclonedx"/);
  });

  it("a command that needs core loads it when it runs (here: cannot, so it fails cleanly)", () => {
    const entry = isolatedBundle();
    const scan = run(entry, ["sbom", "oci-archive:/nonexistent.tar"]);
    expect(scan.code).toBe(2);
    // One line naming the missing package, no stack trace.
    expect(scan.stderr).toMatch(/^stowaway: error: .*'@stowaway\/core'.*\n$/);
    expect(scan.stderr.trim().split("\n")).toHaveLength(1);
  });
});

/** What commander prints and exits with for argv, from a program with only argv's command or with all of them. */
async function answer(argv: string[], registered: "named" | "all") {
  let stdout = "";
  let stderr = "";
  const io = {
    stdout: { write: (text: string) => ((stdout += text), true) },
    stderr: { write: (text: string) => ((stderr += text), true) },
    env: {},
  } as unknown as Parameters<typeof buildProgram>[0];
  const program = buildProgram(io, () => undefined, registered === "named" ? argv : undefined);
  let code = 0;
  try {
    await program.parseAsync(argv, { from: "user" });
  } catch (error) {
    code = error instanceof CommanderError ? error.exitCode : -1;
  }
  return { stdout, stderr, code };
}

describe("only the command named on the command line is registered", () => {
  it("prints the same help, version and usage errors as the program with every command", async () => {
    const cases = [
      ["--version"],
      ["-V"],
      ["--help"],
      ["sbom", "--help"],
      ["scan", "--help"],
      ["db", "update", "--help"],
      ["registry", "scan", "--help"],
      ["help", "sbom"],
      ["sbom"],
      ["sbom", "x", "--format", "nope"],
      ["sbom", "--bogus", "x"],
      ["scn", "x"],
    ];
    for (const argv of cases) {
      const named = await answer(argv, "named");
      expect(named, argv.join(" ")).toEqual(await answer(argv, "all"));
      expect(named.stdout + named.stderr, argv.join(" ")).not.toBe("");
    }
  });
});
