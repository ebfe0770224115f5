/**
 * Start-up (issue 13): the built CLI is one bundled file that answers --version and --help without
 * loading @stowaway/core; core is imported by the command that runs. Proven by running the bundle
 * from a directory where core cannot be found at all: the light paths work, a scan cannot.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { CommanderError } from "commander";
import { describe, expect, it } from "vitest";
import { buildImage, buildLayer, writeOciLayout } from "../../core/test/helpers/image-builder.js";
import { tempDir } from "../../core/test/helpers/temp-dir.js";
import { buildProgram } from "../src/program.js";
import { cliEntry, demoArchive, demoDb, root } from "./harness.js";

const scratch = tempDir("stowaway-startup-");
const cliBundle = path.join(path.dirname(cliEntry), "cli.js");
const cliVersion = (JSON.parse(readFileSync(path.join(root, "cli/package.json"), "utf8")) as { version: string })
  .version;

/** dist/main.js, the bundle it loads and package.json copied alone: no node_modules anywhere above them. */
function isolatedBundle(): string {
  const dir = path.join(scratch, "cli");
  mkdirSync(path.join(dir, "dist"), { recursive: true });
  copyFileSync(cliEntry, path.join(dir, "dist/main.js"));
  copyFileSync(cliBundle, path.join(dir, "dist/cli.js"));
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
  it("dist/main.js enables the compile cache and imports the bundle, which imports core only with import()", () => {
    // The entry turns the cache on before the bundle is compiled, so the bundle itself is cached too.
    const entry = readFileSync(cliEntry, "utf8");
    expect(entry.indexOf("enableCompileCache")).toBeGreaterThan(0);
    expect(entry.indexOf("enableCompileCache")).toBeLessThan(entry.indexOf('import("./cli.js")'));
    // bin/stowaway.js, the installed command, does the same and imports the bundle itself (one file fewer).
    const bin = readFileSync(path.join(root, "cli/bin/stowaway.js"), "utf8");
    expect(bin.indexOf("enableCompileCache")).toBeGreaterThan(0);
    expect(bin.indexOf("enableCompileCache")).toBeLessThan(bin.indexOf('import("../dist/cli.js")'));
    const bundle = readFileSync(cliBundle, "utf8");
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

/**
 * Every module URL one CLI run resolves, recorded by a module.register() hook given with --import
 * (Node's own loader reports it: nothing in the CLI is asked), and every built-in module it loaded
 * (process.moduleLoadList at exit, from a --require preload; the bundles take built-ins with
 * process.getBuiltinModule, which no resolve hook sees).
 */
function modulesLoadedBy(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  { builtins: wantBuiltins = false } = {},
): { code: number | null; urls: string[]; builtins: string[] } {
  const dir = path.join(scratch, `hook-${args[0]}`);
  mkdirSync(dir, { recursive: true });
  const log = path.join(dir, "resolved.txt");
  const builtinLog = path.join(dir, "builtins.txt");
  writeFileSync(log, "");
  writeFileSync(builtinLog, "");
  writeFileSync(
    path.join(dir, "hook.mjs"),
    `import { appendFileSync } from "node:fs";
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  appendFileSync(${JSON.stringify(log)}, result.url + "\\n");
  return result;
}
`,
  );
  writeFileSync(
    path.join(dir, "register.mjs"),
    `import { register } from "node:module";\nregister("./hook.mjs", import.meta.url);\n`,
  );
  const result = spawnSync(process.execPath, ["--import", path.join(dir, "register.mjs"), cliEntry, ...args], {
    encoding: "utf8",
    cwd: dir,
    env: { PATH: process.env.PATH, HOME: dir, ...env },
  });
  const urls = readFileSync(log, "utf8").split("\n").filter(Boolean);
  if (!wantBuiltins) return { code: result.status, urls, builtins: [] };
  // Again without the hook, which itself loads worker_threads; stdout and stderr are pipes, as in CI.
  writeFileSync(
    path.join(dir, "builtins.cjs"),
    `process.on("exit", () => require("node:fs").writeFileSync(${JSON.stringify(builtinLog)}, process.moduleLoadList.join("\\n")));\n`,
  );
  spawnSync(process.execPath, ["--require", path.join(dir, "builtins.cjs"), cliEntry, ...args], {
    cwd: dir,
    env: { PATH: process.env.PATH, HOME: dir, ...env },
  });
  const builtins = readFileSync(builtinLog, "utf8")
    .split("\n")
    .filter((entry) => entry.startsWith("NativeModule "))
    .map((entry) => entry.slice("NativeModule ".length));
  return { code: result.status, urls, builtins };
}

describe("a warm sbom (the inventory cache answers)", () => {
  // The cold inventory: catalogers, the layer walk and the layer cache, the decoders, the tar parser.
  const cold =
    /^(catalog-image|image\/(layers|layer-walker|layer-cache|tar-parser|decompress|spill-decoder)|catalog\/(?!packages-json|os\/eol|warnings)).*\.js$/;
  // Built-ins only a cold scan, a registry or a subprocess needs (commander's child_process pulls in dgram).
  const unused = ["child_process", "dgram", "zlib", "worker_threads", "http", "https", "tls", "readline"];

  it("loads no cold-inventory code and none of the built-ins it does not use", () => {
    const cacheDir = path.join(scratch, "warm-cache");
    const args = ["sbom", `oci-archive:${demoArchive}`, "-f", "json", "--cache-dir", cacheDir, "-o"];
    const first = run(cliEntry, [...args, path.join(scratch, "cold.json")]);
    expect(first.code, first.stderr).toBe(0);
    const warm = modulesLoadedBy([...args, path.join(scratch, "warm.json")], {}, { builtins: true });
    expect(warm.code).toBe(0);
    expect(readFileSync(path.join(scratch, "warm.json"))).toEqual(readFileSync(path.join(scratch, "cold.json")));
    // What each loaded bundle file holds, by esbuild's "// dist/FILE" markers.
    const bundleDir = `${pathToFileURL(path.join(root, "core/dist/bundle")).href}/`;
    const bundled = [...new Set(warm.urls.filter((url) => url.startsWith(bundleDir)))].flatMap((url) =>
      [...readFileSync(fileURLToPath(url), "utf8").matchAll(/^\/\/ dist\/(\S+\.js)$/gm)].map((match) => match[1]!),
    );
    expect(bundled).toContain("inventory-cache.js");
    expect(bundled.filter((file) => cold.test(file))).toEqual([]);
    // Each file is one more resolve, read, compile and link: the warm path, the JSON report included, is
    // one chunk (core/scripts/bundle-scan.mjs), read through the scan entry, beside the shared errors module.
    const coreFiles = new Set(
      warm.urls.filter((url) => url.startsWith(`${pathToFileURL(path.join(root, "core")).href}/`)),
    );
    expect([...coreFiles].map((url) => path.basename(fileURLToPath(url))).sort()).toEqual([
      expect.stringMatching(/^chunk-\w+\.js$/),
      "errors.js",
      "scan.js",
    ]);
    expect(warm.builtins).toContain("fs");
    // To a pipe, the report's byte runs (the stored package list is one) arrive whole and in order.
    const piped = spawnSync(process.execPath, [cliEntry, ...args.slice(0, -1)], {
      cwd: scratch,
      env: { PATH: process.env.PATH, HOME: scratch },
    });
    expect(piped.status).toBe(0);
    expect(piped.stdout).toEqual(readFileSync(path.join(scratch, "cold.json")));
    expect(warm.builtins.filter((name) => unused.includes(name))).toEqual([]);
  });
});

describe("a warm sbom -f json of a package list larger than its copy buffer", () => {
  /**
   * A --require preload recording every read the CLI makes of a file under `dir` (the bundles take
   * node:fs with process.getBuiltinModule, the very object patched here): each readSync's byte count,
   * -1 for a whole-file readFileSync.
   */
  function readProbe(dir: string, log: string): string {
    const probe = path.join(scratch, "read-probe.cjs");
    writeFileSync(
      probe,
      `const fs = require("node:fs");
const dir = ${JSON.stringify(dir)};
const watched = new Set();
const reads = [];
const { openSync, closeSync, readSync, readFileSync, writeFileSync } = fs;
fs.openSync = function (file, ...rest) {
  const fd = openSync.call(this, file, ...rest);
  if (String(file).startsWith(dir)) watched.add(fd);
  return fd;
};
fs.closeSync = function (fd) {
  watched.delete(fd);
  return closeSync.call(this, fd);
};
fs.readSync = function (fd, ...rest) {
  const n = readSync.call(this, fd, ...rest);
  if (watched.has(fd)) reads.push(n);
  return n;
};
fs.readFileSync = function (file, ...rest) {
  if (String(file).startsWith(dir)) reads.push(-1);
  return readFileSync.call(this, file, ...rest);
};
process.on("exit", () => writeFileSync(${JSON.stringify(log)}, JSON.stringify(reads)));
`,
    );
    return probe;
  }

  it("copies it from the inventory cache in 64 KiB reads, never reading it whole, into the cold report", async () => {
    // ~1,500 apk packages: a stored list of a few hundred KB.
    const stanzas = Array.from({ length: 1500 }, (_, i) => `P:package-${i}\nV:1.${i}.0-r0\nA:x86_64\nL:MIT\n\n`);
    const layer = await buildLayer([
      { path: "etc/os-release", content: 'ID=alpine\nVERSION_ID=3.19.1\nPRETTY_NAME="Alpine"\n' },
      { path: "lib/apk/db/installed", content: stanzas.join("") },
    ]);
    const dir = path.join(scratch, "many-packages");
    await writeOciLayout(dir, { images: [{ image: buildImage({ layers: [layer] }), tag: "t" }] });
    const cacheDir = path.join(scratch, "many-cache");
    const args = ["sbom", `oci:${dir}:t`, "-f", "json", "--cache-dir", cacheDir, "-o"];
    const cold = run(cliEntry, [...args, path.join(scratch, "many-cold.json")]);
    expect(cold.code, cold.stderr).toBe(0);
    const log = path.join(scratch, "many-reads.json");
    const warmOut = path.join(scratch, "many-warm.json");
    const warm = spawnSync(
      process.execPath,
      ["--require", readProbe(path.join(cacheDir, "inventories"), log), cliEntry, ...args, warmOut],
      { encoding: "utf8", cwd: scratch, env: { PATH: process.env.PATH, HOME: scratch } },
    );
    expect(warm.status, warm.stderr).toBe(0);
    expect(readFileSync(warmOut)).toEqual(readFileSync(path.join(scratch, "many-cold.json")));
    const [entry] = readdirSync(path.join(cacheDir, "inventories"), { recursive: true, withFileTypes: true })
      .filter((file) => file.isFile())
      .map((file) => path.join(file.parentPath, file.name));
    const entrySize = statSync(entry!).size;
    expect(entrySize).toBeGreaterThan(4 * 64 * 1024);
    const reads = JSON.parse(readFileSync(log, "utf8")) as number[];
    expect(reads).not.toContain(-1);
    expect(Math.max(...reads)).toBeLessThanOrEqual(64 * 1024);
    // Checked once and copied once (the header's chunk read again), nothing more.
    const total = reads.reduce((sum, n) => sum + n, 0);
    expect(total).toBeGreaterThanOrEqual(2 * entrySize - 64 * 1024);
    expect(total).toBeLessThanOrEqual(2 * entrySize + 64 * 1024);
  });
});

describe("scan and ci run core's bundled pipeline", () => {
  // Unbundled core files the bundle shares on purpose (errors, lazy dependencies) or the CLI
  // imports directly (format names, log neutralising); anything else from core/dist means the
  // command went back to core's ~300 separate files.
  const allowedUnbundled = ["errors.js", "lazy-dependency.js", "report/format-names.js", "report/neutralize.js"];
  // Packages for feeds, the database builder, SBOM input and the policy language: a scan with a
  // compiled database and no policy file needs none of them.
  const notNeeded = ["js-yaml", "ajv", "ajv-formats", "yauzl", "tar-stream", "packageurl-js", "@cyclonedx"];

  const check = (urls: string[]) => {
    const coreDist = `${pathToFileURL(path.join(root, "core/dist")).href}/`;
    const unbundled = urls
      .filter((url) => url.startsWith(coreDist) && !url.startsWith(`${coreDist}bundle/`))
      .map((url) => url.slice(coreDist.length));
    expect([...new Set(unbundled)].filter((file) => !allowedUnbundled.includes(file))).toEqual([]);
    expect(urls.some((url) => url.startsWith(`${coreDist}bundle/pipeline.js`))).toBe(true);
    const packages = new Set(urls.map((url) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1]));
    expect(notNeeded.filter((name) => packages.has(name))).toEqual([]);
  };

  it("stowaway scan with the demo database", () => {
    const out = path.join(scratch, "scan.json");
    const run = modulesLoadedBy(
      ["scan", `oci-archive:${demoArchive}`, "--db", demoDb, "--fail-on", "none", "-o", out],
      {},
      { builtins: true },
    );
    expect(run.code).toBe(0);
    // No central policy, no registry, no subprocess: no HTTPS stack (a policy URL loads it when fetched).
    expect(run.builtins.filter((name) => ["https", "http", "tls", "child_process", "dgram"].includes(name))).toEqual(
      [],
    );
    // The demo image has findings (README), so matching ran and the table renderer was loaded.
    expect(readFileSync(out, "utf8")).toContain("CRITICAL");
    check(run.urls);
  });

  it("stowaway ci with a given database", () => {
    const run = modulesLoadedBy(["ci"], {
      STOWAWAY_IMAGE: `oci-archive:${demoArchive}`,
      STOWAWAY_DB: demoDb,
      STOWAWAY_FAIL_ON: "none",
      STOWAWAY_OUTPUT_DIR: path.join(scratch, "ci-reports"),
    });
    expect(run.code).toBe(0);
    expect(readFileSync(path.join(scratch, "ci-reports/stowaway-outcome.json"), "utf8")).toContain('"outcome"');
    check(run.urls);
  });
});

describe("the process ends as soon as the command is done", () => {
  /** A --require preload noting, on stderr, whether the CLI ended the process itself (process.exit). */
  function exitProbe(): string {
    const probe = path.join(scratch, "exit-probe.cjs");
    writeFileSync(
      probe,
      `const exit = process.exit;
process.exit = function (code) {
  require("node:fs").writeSync(2, "explicit exit " + code + "\\n");
  return exit.call(this, code);
};
`,
    );
    return probe;
  }

  const cacheDir = path.join(scratch, "exit-cache");
  const sbom = ["sbom", `oci-archive:${demoArchive}`, "-f", "json", "--cache-dir", cacheDir];

  it("without Node's tear-down once the report file is written, whole, and with the command's exit code", () => {
    const expected = path.join(scratch, "exit-expected.json");
    expect(run(cliEntry, [...sbom, "-o", expected]).code).toBe(0);
    const out = path.join(scratch, "exit-warm.json");
    const warm = spawnSync(process.execPath, ["--require", exitProbe(), cliEntry, ...sbom, "-o", out], {
      encoding: "utf8",
      env: { PATH: process.env.PATH, HOME: scratch },
    });
    expect(warm.status, warm.stderr).toBe(0);
    expect(warm.stderr).toBe("explicit exit 0\n");
    expect(readFileSync(out)).toEqual(readFileSync(expected));
    const failed = spawnSync(
      process.execPath,
      ["--require", exitProbe(), cliEntry, "sbom", "oci-archive:/nonexistent.tar"],
      {
        encoding: "utf8",
        env: { PATH: process.env.PATH, HOME: scratch },
      },
    );
    expect(failed.status).toBe(2);
    expect(failed.stderr).toMatch(/^stowaway: error: .*\nexplicit exit 2\n$/);
  });

  it("only after a pipe whose reader is slow has taken the whole report", () => {
    // The demo's scan report (~130 KB) is larger than a pipe's buffer, and the reader starts after a
    // pause: the report is still being written when the command is done.
    const scan = ["scan", `oci-archive:${demoArchive}`, "--db", demoDb, "-f", "json", "--cache-dir", cacheDir];
    const expected = path.join(scratch, "exit-scan.json");
    expect(run(cliEntry, [...scan, "-o", expected]).code).toBe(0);
    expect(readFileSync(expected).length).toBeGreaterThan(64 << 10);
    const piped = spawnSync(
      "sh",
      [
        "-c",
        `node="$0" probe="$1" entry="$2"; shift 2; "$node" --require "$probe" "$entry" "$@" | (sleep 1; cat)`,
        process.execPath,
        exitProbe(),
        cliEntry,
        ...scan,
      ],
      { env: { PATH: process.env.PATH, HOME: scratch }, maxBuffer: 64 << 20 },
    );
    expect(piped.status).toBe(0);
    expect(piped.stdout).toEqual(readFileSync(expected));
  });
});
