import { Command, CommanderError } from "commander";
import { createRequire } from "node:module";
import { neutralizeLogLines } from "@stowaway/core/log-safety";
import { registerAdmissionCommands } from "./commands/admission.js";
import { registerCiCommand } from "./commands/ci.js";
import { registerClusterCommands } from "./commands/cluster.js";
import { registerDbCommands } from "./commands/db.js";
import { registerPolicyCommands } from "./commands/policy.js";
import { registerRegistryCommands } from "./commands/registry.js";
import { registerSbomCommand } from "./commands/sbom.js";
import { registerScanCommand } from "./commands/scan.js";
import { registerServeCommand } from "./commands/serve.js";
import { EXIT_ERROR, EXIT_OK } from "./exit-codes.js";
import type { Io } from "./io.js";

export type { Io } from "./io.js";

/**
 * The CLI's own version (published in lockstep with core), from its package.json, so that `--version`
 * and `--help` never load core (every command loads it with import() when it runs). The bundle has it
 * written in by its build (cli/scripts/build.mjs): reading package.json with require() at run time
 * started Node's CommonJS loader for one file, 2.5-6 ms of every run. Unbundled (tests), it is read.
 */
declare const __STOWAWAY_CLI_VERSION__: string | undefined;
const version =
  typeof __STOWAWAY_CLI_VERSION__ === "string"
    ? __STOWAWAY_CLI_VERSION__
    : (createRequire(import.meta.url)("../package.json") as { version: string }).version;

/** Resolves at SIGTERM or SIGINT: long-running commands (the admission webhook) stop cleanly. */
function waitForStop(): Promise<void> {
  return new Promise((resolve) => {
    process.once("SIGTERM", () => resolve());
    process.once("SIGINT", () => resolve());
  });
}

/**
 * The program with its commands. Given the arguments, only the command they name is registered
 * (commander builds every option object up front, a measurable part of a warm rescan's start-up);
 * without a known command name (`--help`, `help`, a typo that wants suggestions) all of them are, and
 * for `--version` none.
 * A command's own help and errors do not mention its siblings, so the output is the same either way.
 */
export function buildProgram(io: Io, setExitCode: (code: number) => void, argv?: readonly string[]): Command {
  const program = new Command("stowaway")
    .description("Container image security for every CI system: inventory, vulnerabilities, policy")
    .version(version)
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      // Usage errors quote the arguments, which CI jobs often fill from image metadata.
      writeErr: (text) => io.stderr.write(neutralizeLogLines(text)),
    })
    .exitOverride();
  const commands: [name: string, register: () => void][] = [
    ["sbom", () => registerSbomCommand(program, io)],
    ["scan", () => registerScanCommand(program, io, setExitCode)],
    ["ci", () => registerCiCommand(program, io, setExitCode)],
    ["db", () => registerDbCommands(program, io)],
    ["policy", () => registerPolicyCommands(program, io, setExitCode)],
    ["registry", () => registerRegistryCommands(program, io, setExitCode)],
    ["serve", () => registerServeCommand(program, io)],
    ["admission", () => registerAdmissionCommands(program, io, waitForStop)],
    ["cluster", () => registerClusterCommands(program, io, setExitCode)],
  ];
  const first = argv?.[0];
  // `--version` answers before any command is looked at.
  if (first === "--version" || first === "-V") return program;
  const named = commands.find(([name]) => name === first);
  for (const [, register] of named ? [named] : commands) register();
  return program;
}

/** Runs the CLI and returns its exit code; never throws. */
export async function run(argv: string[], io: Io): Promise<number> {
  let exitCode = EXIT_OK;
  const program = buildProgram(
    io,
    (code) => {
      exitCode = code;
    },
    argv,
  );
  try {
    await program.parseAsync(argv, { from: "user" });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander already printed usage errors; --help and --version exit cleanly.
      return error.exitCode === 0 ? EXIT_OK : EXIT_ERROR;
    }
    const { describeError } = await import("./errors.js");
    io.stderr.write(`stowaway: error: ${await describeError(error)}\n`);
    if (argv.includes("--debug") && error instanceof Error && error.stack)
      io.stderr.write(`${neutralizeLogLines(error.stack)}\n`);
    return EXIT_ERROR;
  }
}
