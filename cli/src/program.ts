import { Command, CommanderError, Option } from "commander";
import {
  STOWAWAY_VERSION,
  StowawayError,
  defaultCacheDir,
  parsePlatform,
  renderInventoryTable,
  renderJson,
  scan,
  writeFileAtomic,
  type ScanOptions,
  type ScanResult,
} from "@stowaway/core";
import { EXIT_ERROR, EXIT_OK } from "./exit-codes.js";
import { describeError } from "./errors.js";
import { layerProgressReporter } from "./progress.js";

export interface Io {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
}

interface ImageFlags {
  platform?: string;
  username?: string;
  password?: string;
  registryToken?: string;
  insecure?: boolean;
  caFile?: string;
  cacheDir?: string;
  cache: boolean;
  format: string;
  output?: string;
  progress?: boolean;
  debug?: boolean;
}

const INVENTORY_FORMATS = ["json", "table"] as const;

function addImageOptions(command: Command): Command {
  return command
    .argument(
      "<target>",
      "oci-archive:PATH, docker-archive:PATH, oci:DIR[:TAG|@DIGEST], a path, or a registry reference",
    )
    .option("--platform <os/arch[/variant]>", "platform to pick from a multi-arch image", "linux/amd64")
    .option("--username <user>", "registry user (or env STOWAWAY_USERNAME)")
    .option(
      "--password <password>",
      "registry password (or env STOWAWAY_PASSWORD; prefer the env var, flags show in process lists)",
    )
    .option("--registry-token <token>", "static bearer token for the registry")
    .option("--insecure", "plain HTTP or unverified TLS for this registry only")
    .option("--ca-file <pem>", "extra CA certificates (PEM) to trust for the registry")
    .option("--cache-dir <dir>", "per-layer cache directory", undefined)
    .option("--no-cache", "do not read or write the layer cache")
    .option("-o, --output <file>", "write the report to FILE instead of stdout")
    .option("--progress", "show layer progress on stderr even when it is not a terminal")
    .option("--debug", "show stack traces for errors");
}

function scanOptionsFrom(flags: ImageFlags, io: Io): ScanOptions {
  const username = flags.username ?? io.env.STOWAWAY_USERNAME;
  const password = flags.password ?? io.env.STOWAWAY_PASSWORD;
  if ((username === undefined) !== (password === undefined)) {
    throw new StowawayError(
      "--username and --password go together (or STOWAWAY_USERNAME and STOWAWAY_PASSWORD); give both or neither",
    );
  }
  const progress = flags.progress || Boolean(io.stderr.isTTY && !io.env.CI);
  return {
    platform: parsePlatform(flags.platform ?? "linux/amd64"),
    registry: {
      ...(username !== undefined ? { username, password } : {}),
      ...(flags.registryToken ? { registryToken: flags.registryToken } : {}),
      ...(flags.insecure ? { insecure: true } : {}),
      ...(flags.caFile ? { caFile: flags.caFile } : {}),
    },
    cacheDir: flags.cache === false ? false : (flags.cacheDir ?? defaultCacheDir(io.env)),
    onProgress: layerProgressReporter(io.stderr, progress),
  };
}

async function emit(text: string, flags: ImageFlags, io: Io): Promise<void> {
  if (flags.output) {
    await writeFileAtomic(flags.output, text);
  } else {
    io.stdout.write(text);
  }
}

function renderInventory(result: ScanResult, format: string, color: boolean): string {
  return format === "json" ? renderJson(result) : renderInventoryTable(result, { color });
}

function colorWanted(flags: ImageFlags, io: Io): boolean {
  return !flags.output && Boolean(io.stdout.isTTY) && !io.env.NO_COLOR;
}

export function buildProgram(io: Io): Command {
  const program = new Command("stowaway")
    .description("Container image security for every CI system: inventory, vulnerabilities, policy")
    .version(STOWAWAY_VERSION)
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    })
    .exitOverride();

  addImageOptions(
    program
      .command("sbom")
      .description("list the packages installed in an image")
      .addOption(new Option("-f, --format <format>", "output format").choices([...INVENTORY_FORMATS]).default("table")),
  ).action(async (target: string, flags: ImageFlags) => {
    const result = await scan(target, scanOptionsFrom(flags, io));
    await emit(renderInventory(result, flags.format, colorWanted(flags, io)), flags, io);
  });

  addImageOptions(
    program
      .command("scan")
      .description("scan an image for vulnerabilities and apply the policy gate")
      .addOption(new Option("-f, --format <format>", "output format").choices([...INVENTORY_FORMATS]).default("table")),
  ).action(async (target: string, flags: ImageFlags) => {
    const result = await scan(target, scanOptionsFrom(flags, io));
    // Matching arrives with the vulnerability database; until then say so plainly instead of implying "no findings".
    io.stderr.write(
      "notice: no vulnerability database configured; showing the inventory only (no vulnerabilities were checked)\n",
    );
    await emit(renderInventory(result, flags.format, colorWanted(flags, io)), flags, io);
  });

  return program;
}

/** Runs the CLI and returns its exit code; never throws. */
export async function run(argv: string[], io: Io): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync(argv, { from: "user" });
    return EXIT_OK;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander already printed usage errors; --help and --version exit cleanly.
      return error.exitCode === 0 ? EXIT_OK : EXIT_ERROR;
    }
    io.stderr.write(`stowaway: error: ${describeError(error)}\n`);
    if (argv.includes("--debug") && error instanceof Error && error.stack) io.stderr.write(`${error.stack}\n`);
    return EXIT_ERROR;
  }
}
