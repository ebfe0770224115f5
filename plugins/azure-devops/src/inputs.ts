import { StowawayError, inputVariable } from "@stowaway/core";

/**
 * Azure task inputs are camelCase by convention; the core reads the common inputs by their
 * hyphenated names. This table is the single place where one becomes the other (README and
 * task.json are checked against it in the tests).
 */
export const COMMON_INPUT_NAMES = {
  image: "image",
  platform: "platform",
  insecure: "insecure",
  caFile: "ca-file",
  failOn: "fail-on",
  onlyFixed: "only-fixed",
  requireSignature: "require-signature",
  mode: "mode",
  policy: "policy",
  baseline: "baseline",
  ignoreFiles: "ignore-files",
  vex: "vex",
  reports: "reports",
  severity: "severity",
  outputDir: "output-dir",
  db: "db",
  offline: "offline",
  dbMirror: "db-mirror",
  dbMaxAge: "db-max-age",
  cacheDir: "cache-dir",
  timeoutConnect: "timeout-connect",
  timeoutFirstByte: "timeout-first-byte",
  timeoutIdle: "timeout-idle",
  server: "server",
  serverToken: "server-token",
} as const;

/** Task inputs holding a secret: read without the task library's debug line and masked (see readSecretInput). */
export const SECRET_TASK_INPUTS: readonly TaskInputName[] = ["serverToken"];

export type TaskInputName = keyof typeof COMMON_INPUT_NAMES;

/** The agent variable standing in for an empty task input: `serverToken` -> STOWAWAY_SERVER_TOKEN. */
export function inputVariableFor(taskName: string): string {
  return inputVariable(COMMON_INPUT_NAMES[taskName as TaskInputName] ?? taskName);
}

/** Inputs only this adapter has: they shape Azure's own surfaces, never the scan. */
export const AZURE_INPUT_NAMES = ["dockerRegistryServiceConnection", "publishTestResults", "maxIssues"] as const;

const TASK_NAME_BY_COMMON_NAME = new Map<string, TaskInputName>(
  Object.entries(COMMON_INPUT_NAMES).map(([taskName, commonName]) => [commonName, taskName as TaskInputName]),
);

/**
 * A getter by common (hyphenated) name over the task's own getter. Registry credentials are not
 * task inputs (task-lib logs every input value): they come from the service connection. The
 * service token is one, read by the caller without that log line (SECRET_TASK_INPUTS).
 */
export function commonInputGetter(
  getTaskInput: (name: string) => string | undefined,
): (name: string) => string | undefined {
  return (commonName) => {
    const taskName = TASK_NAME_BY_COMMON_NAME.get(commonName);
    return taskName ? getTaskInput(taskName) : undefined;
  };
}

/** The reports Azure's own surfaces need besides those asked for: the summary, and the test run. */
export function withSurfaceReports(requested: string | undefined, publishTestResults: boolean): string {
  return [requested ?? "", "markdown", ...(publishTestResults ? ["junit"] : [])].filter(Boolean).join(",");
}

export function parseMaxIssues(value: string | undefined): number {
  if (value === undefined || value.trim() === "") return 10;
  const parsed = Number(value.trim());
  if (!Number.isInteger(parsed) || parsed < 0) {
    throw new StowawayError(`input maxIssues: "${value}" is not a whole number of 0 or more`);
  }
  return parsed;
}
