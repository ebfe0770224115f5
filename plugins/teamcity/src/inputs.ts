import { parseCommonInputs, type CommonInputs } from "@stowaway/core";

export interface TeamCityInputs {
  common: CommonInputs;
  artifactsDir: string;
}

/** `fail-on` -> `STOWAWAY_FAIL_ON`: the meta-runner declares its parameters as `env.STOWAWAY_*`. */
export function envName(input: string): string {
  return `STOWAWAY_${input.toUpperCase().replace(/-/g, "_")}`;
}

/**
 * Inputs come from environment variables rather than from `%param%` references spliced into the
 * script, so no value (a password with a quote in it, an image name with `$(...)`) is ever parsed
 * by a shell, and password parameters stay out of the step's script text.
 */
export function readInputs(env: NodeJS.ProcessEnv): TeamCityInputs {
  const get = (name: string): string | undefined => env[envName(name)];
  const common = parseCommonInputs((name) => (name === "reports" ? (get(name) ?? "html,sarif") : get(name)), {
    outputDir: "stowaway-reports",
  });
  return { common, artifactsDir: get("artifacts-dir")?.trim() || "stowaway" };
}
