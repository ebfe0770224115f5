import { StowawayError } from "../errors.js";
import { parseDuration } from "../vulndb/status.js";
import type { ImageAccess, ScanRequest } from "../request.js";
import { parsePlatform } from "../image/platform.js";
import { REPORT_FORMATS, isReportFormat, type ReportFormat } from "../report/format-names.js";
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
  /** Fail unless the image has a signature verified by the policy's trust.signatures (docs/trust.md §5). */
  requireSignature?: boolean;
  /** Report formats to write into outputDir. */
  reports: ReportFormat[];
  outputDir: string;
  /** A database the user manages: used as it is, never downloaded into. */
  db?: string;
  offline?: boolean;
  /** Base URLs serving the database feeds, tried in order (default: the upstream sources). */
  dbMirrors: string[];
  /** The provisioned database is updated when older than this (default DEFAULT_DB_MAX_AGE). */
  dbMaxAgeMs?: number;
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
  /** A Stowaway service to delegate the scan to (its database and central policy); see docs/service.md. */
  server?: string;
  /** API token (write scope) for `server`. */
  serverToken?: string;
}

/**
 * The one default gate of every CI adapter and `stowaway ci`: fail on critical findings. A policy
 * file carries its own `gate.failOn`; `fail-on: none` turns the gate off. See docs/ci-contract.md.
 */
export const DEFAULT_FAIL_ON: GateSeverity = "critical";
/** Reports `stowaway ci` writes when the `reports` input is empty (json is always written). */
export const DEFAULT_CI_REPORTS: readonly ReportFormat[] = ["json", "sarif", "junit", "html"];
/** How old the provisioned database may get before a run updates it. */
export const DEFAULT_DB_MAX_AGE = "24h";
/** Inputs whose values are secrets: masked in logs by every adapter. */
export const SECRET_INPUTS: readonly string[] = ["password", "registry-token", "server-token"];
/** Every common input, in the order docs/ci-contract.md lists them. */
export const COMMON_INPUT_NAMES: readonly string[] = [
  "image",
  "fail-on",
  "policy",
  "only-fixed",
  "mode",
  "severity",
  "reports",
  "output-dir",
  "db",
  "offline",
  "db-mirror",
  "db-max-age",
  "username",
  "password",
  "registry-token",
  "baseline",
  "ignore-files",
  "vex",
  "platform",
  "insecure",
  "ca-file",
  "cache-dir",
  // Registry timeouts in seconds (issue 12): TIMEOUT_SETTINGS in image/registry/timeouts.ts.
  "timeout-connect",
  "timeout-first-byte",
  "timeout-idle",
  "server",
  "server-token",
  "require-signature",
];

const GATE_SEVERITIES: readonly string[] = ["critical", "high", "medium", "low", "none"];
const REPORT_SEVERITIES: readonly string[] = ["critical", "high", "medium", "low", "negligible", "unknown"];

/**
 * The one list splitter of every adapter: "a, b\nc" (comma or newline separated, items trimmed,
 * empty items dropped). Spaces inside an item are kept, so paths with spaces survive.
 */
export function splitList(value: string | undefined): string[] {
  return (value ?? "")
    .split(/[\n,]/)
    .map((item) => item.trim())
    .filter(Boolean);
}

/** The `STOWAWAY_*` variable of a common input: `fail-on` is `STOWAWAY_FAIL_ON`. */
export function inputVariable(name: string): string {
  return `STOWAWAY_${name.toUpperCase().replace(/-/g, "_")}`;
}

/** An input getter over `STOWAWAY_*` variables, for `stowaway ci` and the shell/Groovy/YAML adapters. */
export function envInputs(env: NodeJS.ProcessEnv): (name: string) => string | undefined {
  return (name) => env[inputVariable(name)];
}

/**
 * Inputs from the platform first, then from `STOWAWAY_*` variables (e.g. a runner-wide
 * `STOWAWAY_DB_MIRROR`), as trivy-action layers inputs over environment.
 */
export function withEnvFallback(
  get: (name: string) => string | undefined,
  env: NodeJS.ProcessEnv,
): (name: string) => string | undefined {
  const fromEnv = envInputs(env);
  return (name) => {
    const value = get(name);
    return value === undefined || value.trim() === "" ? fromEnv(name) : value;
  };
}

/** The secret values among the inputs (registry password and token), for the platform's masking. */
export function secretValues(inputs: Pick<CommonInputs, "password" | "registryToken" | "serverToken">): string[] {
  return [inputs.password, inputs.registryToken, inputs.serverToken].filter((value): value is string => Boolean(value));
}

/** Replaces every secret value in `text` by `***`, the placeholder every adapter uses. */
export function maskSecrets(text: string, secrets: readonly string[]): string {
  let masked = text;
  for (const secret of secrets) if (secret.length > 0) masked = masked.split(secret).join("***");
  return masked;
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
  defaults: { outputDir: string; reports?: readonly ReportFormat[] },
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
  const requested = splitList(get("reports"));
  const reports = (requested.length > 0 ? requested : [...(defaults.reports ?? [])]).map((format) => {
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
    dbMirrors: splitList(get("db-mirror")),
  };
  const maxAge = value("db-max-age");
  const optional: Partial<CommonInputs> = {
    policy: value("policy"),
    failOn: parseChoice<GateSeverity>("fail-on", get("fail-on"), GATE_SEVERITIES),
    onlyFixed: parseBoolean("only-fixed", get("only-fixed")),
    mode: parseChoice<"enforce" | "warn">("mode", get("mode"), ["enforce", "warn"]),
    requireSignature: parseBoolean("require-signature", get("require-signature")),
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
    dbMaxAgeMs: maxAge === undefined ? undefined : parseDuration(maxAge, "input db-max-age"),
    server: value("server"),
    serverToken: value("server-token"),
  };
  for (const [key, item] of Object.entries(optional)) {
    if (item !== undefined) (inputs as unknown as Record<string, unknown>)[key] = item;
  }
  return inputs;
}

/**
 * The common inputs as the one request shape core takes: the CI contract's only mapping. The
 * database (given or provisioned), the report files and an inventory already taken are added by
 * runCi from the database step; every other default is applied in core (resolveDefaults).
 */
export function scanRequestFromInputs(inputs: CommonInputs, env: NodeJS.ProcessEnv, now?: Date): ScanRequest {
  return {
    target: inputs.image,
    access: imageAccessFrom(inputs, env),
    env,
    ...(now ? { now } : {}),
    ...(inputs.cacheDir ? { cacheDir: inputs.cacheDir } : {}),
    ...(inputs.policy ? { policy: inputs.policy } : {}),
    ...(inputs.failOn ? { failOn: inputs.failOn } : {}),
    // Applied by resolveDefaults, only without a policy file (which carries its own failOn).
    defaultFailOn: DEFAULT_FAIL_ON,
    ...(inputs.onlyFixed ? { onlyFixed: true } : {}),
    ...(inputs.mode ? { mode: inputs.mode } : {}),
    ...(inputs.requireSignature ? { requireSignature: true } : {}),
    ...(inputs.caFile ? { caFile: inputs.caFile } : {}),
    ...(inputs.baseline ? { baseline: inputs.baseline } : {}),
    ...(inputs.severity ? { severity: inputs.severity } : {}),
    ignoreFiles: inputs.ignoreFiles,
    vex: inputs.vex,
  };
}

/** How the common inputs say to reach the image: platform and registry access. */
export function imageAccessFrom(inputs: CommonInputs, env: NodeJS.ProcessEnv): ImageAccess {
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
