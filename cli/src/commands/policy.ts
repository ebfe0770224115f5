import type { Command } from "commander";
import { neutralizeLog } from "@stowaway/core/log-safety";
import { EXIT_ERROR, EXIT_OK } from "../exit-codes.js";
import type { Io } from "../io.js";

/** `stowaway policy lint FILE`: schema and semantic checks, errors as FILE:LINE: field: message. */
export function registerPolicyCommands(program: Command, io: Io, setExitCode: (code: number) => void): void {
  const policy = program.command("policy").description("work with policy files");
  policy
    .command("lint")
    .description("check a policy file: schema, dates, expired or soon-expiring exceptions")
    .argument("<file>", "policy YAML file")
    .action(async (file: string) => {
      const { lintPolicy } = await import("@stowaway/core");
      const lint = await lintPolicy(file);
      for (const error of lint.errors) io.stderr.write(`error: ${neutralizeLog(error)}\n`);
      for (const warning of lint.warnings) io.stderr.write(`warning: ${neutralizeLog(warning)}\n`);
      if (lint.ok) io.stdout.write(`${file}: ok\n`);
      setExitCode(lint.ok ? EXIT_OK : EXIT_ERROR);
    });
}
