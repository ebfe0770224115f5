import { Command, CommanderError } from "commander";
import { STOWAWAY_VERSION } from "@stowaway/core";
import { registerDbCommands } from "./commands/db.js";
import { registerPolicyCommands } from "./commands/policy.js";
import { registerRegistryCommands } from "./commands/registry.js";
import { registerSbomCommand } from "./commands/sbom.js";
import { registerScanCommand } from "./commands/scan.js";
import { describeError } from "./errors.js";
import { EXIT_ERROR, EXIT_OK } from "./exit-codes.js";
import type { Io } from "./io.js";

export type { Io } from "./io.js";

export function buildProgram(io: Io, setExitCode: (code: number) => void): Command {
  const program = new Command("stowaway")
    .description("Container image security for every CI system: inventory, vulnerabilities, policy")
    .version(STOWAWAY_VERSION)
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    })
    .exitOverride();
  registerSbomCommand(program, io);
  registerScanCommand(program, io, setExitCode);
  registerDbCommands(program, io);
  registerPolicyCommands(program, io, setExitCode);
  registerRegistryCommands(program, io, setExitCode);
  return program;
}

/** Runs the CLI and returns its exit code; never throws. */
export async function run(argv: string[], io: Io): Promise<number> {
  let exitCode = EXIT_OK;
  const program = buildProgram(io, (code) => {
    exitCode = code;
  });
  try {
    await program.parseAsync(argv, { from: "user" });
    return exitCode;
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
