import type cvssCalculatorModule from "ae-cvss-calculator";
import { lazyDependency } from "../lazy-dependency.js";
import type { OsvSeverity, Severity } from "./osv.js";
import type { WarningSink } from "./errors.js";

// Loaded when a vector is first scored: a scan whose findings carry no vector to score never loads it.
type Calculator = typeof cvssCalculatorModule;
// eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use, see lazyDependency
const calculator = lazyDependency<Calculator>("ae-cvss-calculator", () => require("ae-cvss-calculator"));

export type CvssVersion = "2.0" | "3.0" | "3.1" | "4.0";

export interface ScoredCvss {
  version: CvssVersion;
  /** The vector as given (trimmed, without a stray trailing "/" or v2 parentheses). */
  vector: string;
  /** The base score (v4: CVSS-B, base metrics only), so scores of every version mean the same thing. */
  score: number;
  /** The CVSS qualitative band of `score` (v2 has no Critical band). */
  severity: Severity;
}

type Metrics = Record<string, readonly string[]>;

const V2: { required: Metrics; optional: Metrics } = {
  required: {
    AV: ["L", "A", "N"],
    AC: ["H", "M", "L"],
    Au: ["M", "S", "N"],
    C: ["N", "P", "C"],
    I: ["N", "P", "C"],
    A: ["N", "P", "C"],
  },
  optional: {
    E: ["U", "POC", "F", "H", "ND"],
    RL: ["OF", "TF", "W", "U", "ND"],
    RC: ["UC", "UR", "C", "ND"],
    CDP: ["N", "L", "LM", "MH", "H", "ND"],
    TD: ["N", "L", "M", "H", "ND"],
    CR: ["L", "M", "H", "ND"],
    IR: ["L", "M", "H", "ND"],
    AR: ["L", "M", "H", "ND"],
  },
};

const V3: { required: Metrics; optional: Metrics } = {
  required: {
    AV: ["N", "A", "L", "P"],
    AC: ["L", "H"],
    PR: ["N", "L", "H"],
    UI: ["N", "R"],
    S: ["U", "C"],
    C: ["H", "L", "N"],
    I: ["H", "L", "N"],
    A: ["H", "L", "N"],
  },
  optional: {
    E: ["X", "U", "P", "F", "H"],
    RL: ["X", "O", "T", "W", "U"],
    RC: ["X", "U", "R", "C"],
    CR: ["X", "L", "M", "H"],
    IR: ["X", "L", "M", "H"],
    AR: ["X", "L", "M", "H"],
    MAV: ["X", "N", "A", "L", "P"],
    MAC: ["X", "L", "H"],
    MPR: ["X", "N", "L", "H"],
    MUI: ["X", "N", "R"],
    MS: ["X", "U", "C"],
    MC: ["X", "N", "L", "H"],
    MI: ["X", "N", "L", "H"],
    MA: ["X", "N", "L", "H"],
  },
};

const HLN = ["H", "L", "N"];
const XNLH = ["X", "N", "L", "H"];
const V4: { required: Metrics; optional: Metrics } = {
  required: {
    AV: ["N", "A", "L", "P"],
    AC: ["L", "H"],
    AT: ["N", "P"],
    PR: ["N", "L", "H"],
    UI: ["N", "P", "A"],
    VC: HLN,
    VI: HLN,
    VA: HLN,
    SC: HLN,
    SI: HLN,
    SA: HLN,
  },
  optional: {
    E: ["X", "A", "P", "U"],
    CR: ["X", "H", "M", "L"],
    IR: ["X", "H", "M", "L"],
    AR: ["X", "H", "M", "L"],
    MAV: ["X", "N", "A", "L", "P"],
    MAC: ["X", "L", "H"],
    MAT: ["X", "N", "P"],
    MPR: ["X", "N", "L", "H"],
    MUI: ["X", "N", "P", "A"],
    MVC: XNLH,
    MVI: XNLH,
    MVA: XNLH,
    MSC: XNLH,
    MSI: ["X", "N", "L", "H", "S"],
    MSA: ["X", "N", "L", "H", "S"],
    S: ["X", "N", "P"],
    AU: ["X", "N", "Y"],
    R: ["X", "A", "U", "I"],
    V: ["X", "D", "C"],
    RE: ["X", "L", "M", "H"],
    U: ["X", "Clear", "Green", "Amber", "Red"],
  },
};

/** Undefined when the metric list is complete and well-formed for its version, else the problem. */
function metricProblem(parts: string[], spec: { required: Metrics; optional: Metrics }): string | undefined {
  const seen = new Set<string>();
  for (const part of parts) {
    const colon = part.indexOf(":");
    const key = colon > 0 ? part.slice(0, colon) : part;
    const value = colon > 0 ? part.slice(colon + 1) : "";
    const allowed = spec.required[key] ?? spec.optional[key];
    if (!allowed) return `unknown metric ${JSON.stringify(key)}`;
    if (!allowed.includes(value)) return `invalid value ${JSON.stringify(value)} for ${key}`;
    if (seen.has(key)) return `metric ${key} appears twice`;
    seen.add(key);
  }
  const missing = Object.keys(spec.required).filter((key) => !seen.has(key));
  return missing.length > 0 ? `missing base metric(s) ${missing.join(", ")}` : undefined;
}

/** FIRST's qualitative bands: v3.x/v4.0 None/Low/Medium/High/Critical; v2 (NVD) Low/Medium/High only. */
export function cvssBandSeverity(score: number, version: CvssVersion): Severity {
  if (!Number.isFinite(score) || score < 0 || score > 10) return "unknown";
  if (score === 0) return "negligible";
  if (score < 4) return "low";
  if (score < 7) return "medium";
  if (version === "2.0" || score < 9) return "high";
  return "critical";
}

function parse(raw: string): { version: CvssVersion; vector: string; parts: string[] } | string {
  let vector = raw.trim();
  if (vector.startsWith("(") && vector.endsWith(")")) vector = vector.slice(1, -1);
  // GHSA has published vectors with a trailing "/"; the metrics themselves are intact.
  if (vector.endsWith("/")) vector = vector.slice(0, -1);
  const prefix = /^CVSS:(\d\.\d)\//.exec(vector);
  if (!prefix) {
    return /^AV:[LAN]\//.test(vector) ? { version: "2.0", vector, parts: vector.split("/") } : "no CVSS version prefix";
  }
  const version = prefix[1];
  if (version !== "2.0" && version !== "3.0" && version !== "3.1" && version !== "4.0") {
    return `unsupported CVSS version ${version}`;
  }
  return { version, vector, parts: vector.slice(prefix[0].length).split("/") };
}

/**
 * Scores a CVSS v2, v3.0, v3.1 or v4.0 vector with ae-cvss-calculator after checking it strictly
 * (the library silently fills in missing metrics). An invalid vector is reported through `warn` and
 * yields undefined; it never throws.
 */
export function scoreCvssVector(
  raw: string,
  warn: WarningSink = () => undefined,
  where = "CVSS",
): ScoredCvss | undefined {
  // Feeds repeat a few thousand distinct vectors across millions of records: each is scored once.
  let known = typeof raw === "string" ? scored.get(raw) : undefined;
  if (!known) {
    known = scoreUncached(raw);
    if (typeof raw === "string") {
      if (scored.size >= SCORED_KEPT) scored.clear();
      scored.set(raw, known);
    }
  }
  if (typeof known === "string") {
    warn(`${where}: vector ${JSON.stringify(raw)} skipped (${known})`);
    return undefined;
  }
  return { ...known };
}

const SCORED_KEPT = 20_000;
/** Vector -> its score, or why it was refused. */
const scored = new Map<string, ScoredCvss | string>();

function scoreUncached(raw: string): ScoredCvss | string {
  const parsed = typeof raw === "string" ? parse(raw) : "not a string";
  if (typeof parsed === "string") return parsed;
  const spec = parsed.version === "2.0" ? V2 : parsed.version === "4.0" ? V4 : V3;
  const problem = metricProblem(parsed.parts, spec);
  if (problem) return problem;
  let score: number | undefined;
  try {
    const body = parsed.version === "2.0" ? parsed.parts.join("/") : parsed.vector;
    const cvssCalculator = calculator();
    if (parsed.version === "2.0") score = new cvssCalculator.Cvss2(body).calculateScores().base;
    else if (parsed.version === "3.0") score = new cvssCalculator.Cvss3P0(body).calculateScores().base;
    else if (parsed.version === "3.1") score = new cvssCalculator.Cvss3P1(body).calculateScores().base;
    else score = new cvssCalculator.Cvss4P0(body).calculateScores().baseMetricsOnly;
  } catch (error) {
    return (error as Error).message;
  }
  if (typeof score !== "number" || !Number.isFinite(score)) return "no score computed";
  return { version: parsed.version, vector: parsed.vector, score, severity: cvssBandSeverity(score, parsed.version) };
}

/** Scores every CVSS entry of an OSV `severity` list; other types (e.g. "Ubuntu" priority words) are left to the caller. */
export function scoreOsvSeverities(
  severities: readonly OsvSeverity[] | undefined,
  warn: WarningSink = () => undefined,
  where = "severity",
): ScoredCvss[] {
  const scores: ScoredCvss[] = [];
  for (const entry of severities ?? []) {
    if (!entry || !/^CVSS_V[234]$/.test(entry.type)) continue;
    const score = scoreCvssVector(entry.score, warn, where);
    if (score) scores.push(score);
  }
  return scores;
}
