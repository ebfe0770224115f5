import { StowawayError } from "../errors.js";
import type { InventoryOptions } from "../image-inventory.js";
import { parsePlatform } from "../image/platform.js";
import { REPORT_FORMATS, isReportFormat, type ReportFormat } from "../report/formats.js";
import type { GateSeverity } from "../policy/types.js";
import type { Severity } from "../vulndb/osv.js";
import type { RegistryTimeouts } from "../image/types.js";
import { TIMEOUT_SETTINGS, timeoutsFrom } from "../image/registry/timeouts.js";

/**
 * The inputs every CI adapter offers under the same names (GitHub `with:`, Azure task inputs,
 * GitLab variables, orb parameters ...). Adapters read their platform's values and hand them here,
 * so validation and defaults are identical everywhere.
 */
export interface CommonInputs {
  image: string;
  policy?: string;
  failOn?: GateSeverity;
  onlyFixed?: boolean;
  mode?: "enforce" | "warn";
  /** Report formats to write into outputDir. */
  reports: ReportFormat[];
  outputDir: string;
  db?: string;
  offline?: boolean;
  username?: string;
  password?: string;
  registryToken?: string;
  baseline?: string;
  /** The report filter (never the gate). */
  severity?: Severity;
  ignoreFiles: string[];
  vex: string[];
  platform?: string;
  insecure?: boolean;
  caFile?: string;
  cacheDir?: string;
  /** From inputs timeout-connect, timeout-first-byte and timeout-idle (seconds). */
  timeouts?: RegistryTimeouts;
}

const GATE_SEVERITIES: readonly string[] = ["critical", "high", "medium", "low", "none"];
const REPORT_SEVERITIES: readonly string[] = ["critical", "high", "medium", "low", "negligible", "unknown"];

/** Splits "a, b\nc" lists the way CI inputs are usually written (comma or newline separated). */
export function splitList(value: string | undefined): string[] {
  return (value ?? "")
    .split(/[\n,]/)
    .map((item) => item.trim())
    .filter(Boolean);
}

function parseBoolean(name: string, value: string | undefined): boolean | undefined {
  if (value === undefined || value.trim() === "") return undefined;
  const normalized = value.trim().toLowerCase();
  if (["true", "yes", "1", "on"].includes(normalized)) return true;
  if (["false", "no", "0", "off"].includes(normalized)) return false;
  throw new StowawayError(`input ${name}: "${value}" is not a boolean; use true or false`);
}

function parseChoice<T extends string>(
  name: string,
  value: string | undefined,
  choices: readonly string[],
): T | undefined {
  if (value === undefined || value.trim() === "") return undefined;
  const normalized = value.trim().toLowerCase();
  if (!choices.includes(normalized))
    throw new StowawayError(`input ${name}: "${value}" is not one of ${choices.join(", ")}`);
  return normalized as T;
}

/**
 * Reads the common inputs through `get` (the platform's own input getter; hyphenated names as in
 * action.yml). Required inputs are checked here because runners do not enforce `required`.
 */
export function parseCommonInputs(
  get: (name: string) => string | undefined,
  defaults: { outputDir: string },
): CommonInputs {
  const value = (name: string): string | undefined => {
    const raw = get(name);
    return raw === undefined || raw.trim() === "" ? undefined : raw.trim();
  };
  const image = value("image");
  if (!image)
    throw new StowawayError(
      "input image is required: the image to scan (registry reference, oci-archive:PATH, docker-archive:PATH ...)",
    );
  const reports = splitList(get("reports")).map((format) => {
    const normalized = format.toLowerCase();
    if (!isReportFormat(normalized))
      throw new StowawayError(`input reports: "${format}" is not one of ${REPORT_FORMATS.join(", ")}`);
    return normalized;
  });
  const username = value("username");
  const password = value("password");
  if ((username === undefined) !== (password === undefined)) {
    throw new StowawayError("inputs username and password go together; give both or neither");
  }
  const inputs: CommonInputs = {
    image,
    reports: [...new Set<ReportFormat>(["json", ...reports])],
    outputDir: value("output-dir") ?? defaults.outputDir,
    ignoreFiles: splitList(get("ignore-files")),
    vex: splitList(get("vex")),
  };
  const optional: Partial<CommonInputs> = {
    policy: value("policy"),
    failOn: parseChoice<GateSeverity>("fail-on", get("fail-on"), GATE_SEVERITIES),
    onlyFixed: parseBoolean("only-fixed", get("only-fixed")),
    mode: parseChoice<"enforce" | "warn">("mode", get("mode"), ["enforce", "warn"]),
    db: value("db"),
    offline: parseBoolean("offline", get("offline")),
    username,
    password,
    registryToken: value("registry-token"),
    baseline: value("baseline"),
    severity: parseChoice<Severity>("severity", get("severity"), REPORT_SEVERITIES),
    platform: value("platform"),
    insecure: parseBoolean("insecure", get("insecure")),
    caFile: value("ca-file"),
    cacheDir: value("cache-dir"),
    timeouts: timeoutsFrom(get, (name) => `input ${name}`),
  };
  for (const [key, item] of Object.entries(optional)) {
    if (item !== undefined) (inputs as unknown as Record<string, unknown>)[key] = item;
  }
  return inputs;
}

/** How the common inputs say to reach the image: platform and registry access. */
export function imageAccessFrom(
  inputs: CommonInputs,
  env: NodeJS.ProcessEnv,
): Pick<InventoryOptions, "platform" | "registry"> {
  return {
    ...(inputs.platform ? { platform: parsePlatform(inputs.platform) } : {}),
    registry: {
      ...(inputs.username ? { username: inputs.username, password: inputs.password } : {}),
      ...(inputs.registryToken ? { registryToken: inputs.registryToken } : {}),
      ...(inputs.insecure ? { insecure: true } : {}),
      ...(inputs.caFile ? { caFile: inputs.caFile } : {}),
      ...timeoutsWithEnv(inputs.timeouts, env),
      env,
    },
  };
}

/** Timeout inputs win; STOWAWAY_TIMEOUT_* variables fill the rest, as they do for the CLI. */
function timeoutsWithEnv(
  fromInputs: RegistryTimeouts | undefined,
  env: NodeJS.ProcessEnv,
): { timeouts?: RegistryTimeouts } {
  const byName = new Map<string, string>(TIMEOUT_SETTINGS.map((s) => [s.name, s.env]));
  const fromEnv = timeoutsFrom(
    (name) => env[byName.get(name)!],
    (name) => byName.get(name)!,
  );
  const timeouts = { ...fromEnv, ...fromInputs };
  return Object.keys(timeouts).length > 0 ? { timeouts } : {};
}
