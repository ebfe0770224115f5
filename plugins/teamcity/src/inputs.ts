import { envInputs, inputVariable, parseCommonInputs, type CommonInputs } from "@stowaway/core";

export interface TeamCityInputs {
  common: CommonInputs;
  artifactsDir: string;
}

/** `fail-on` -> `STOWAWAY_FAIL_ON`: the meta-runner declares its parameters as the contract's `env.STOWAWAY_*`. */
export const envName = inputVariable;

/**
 * Inputs come from environment variables rather than from `%param%` references spliced into the
 * script, so no value (a password with a quote in it, an image name with `$(...)`) is ever parsed
 * by a shell, and password parameters stay out of the step's script text.
 */
export function readInputs(env: NodeJS.ProcessEnv): TeamCityInputs {
  const get = envInputs(env);
  const common = parseCommonInputs(get, { outputDir: "stowaway-reports", reports: ["json", "html", "sarif"] });
  return { common, artifactsDir: get("artifacts-dir")?.trim() || "stowaway" };
}
