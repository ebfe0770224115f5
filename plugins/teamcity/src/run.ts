import { runCi } from "@stowaway/core";
import { readInputs } from "./inputs.js";
import { redactor } from "./redact.js";
import { serviceMessage, truncate } from "./service-message.js";
import { MAX_PROBLEM_DESCRIPTION, teamcityMessages } from "./messages.js";

export interface RunContext {
  env: NodeJS.ProcessEnv;
  /** Receives whole lines; service messages must never share a line with anything else. */
  writeLine: (line: string) => void;
}

/**
 * Runs one scan for TeamCity and returns the process exit code: 0 when the scan ran (a failed gate
 * is signalled by a buildProblem, which fails the build with a stable, mutable identity; a non-zero
 * exit would add a second, anonymous "exit code" problem), 2 when it could not run at all.
 */
export async function runTeamCity(context: RunContext): Promise<number> {
  const redact = redactor([
    context.env.STOWAWAY_PASSWORD,
    context.env.STOWAWAY_REGISTRY_TOKEN,
    context.env.STOWAWAY_SERVER_TOKEN,
    context.env.STOWAWAY_POLICY_TOKEN,
  ]);
  const write = (line: string): void => context.writeLine(redact(line));
  let blockOpen = false;
  try {
    const inputs = readInputs(context.env);
    write(serviceMessage("blockOpened", { name: "Stowaway scan", description: inputs.common.image }));
    blockOpen = true;
    // The contract's one entry: database step, default gate (critical), reports, outcome file.
    const run = await runCi(inputs.common, {
      env: context.env,
      log: (line) => write(serviceMessage("message", { text: `Stowaway: ${line}` })),
    });
    for (const line of teamcityMessages(run, {
      artifactsDir: inputs.artifactsDir,
      ...(inputs.common.severity ? { minSeverity: inputs.common.severity } : {}),
    })) {
      write(line);
    }
    return 0;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    write(
      serviceMessage("buildProblem", {
        description: truncate(`Stowaway could not scan: ${message}`, MAX_PROBLEM_DESCRIPTION),
        identity: "stowaway_error",
      }),
    );
    return 2;
  } finally {
    if (blockOpen) write(serviceMessage("blockClosed", { name: "Stowaway scan" }));
  }
}
