import { gzipSync } from "node:zlib";
import type { Finding, ScanResult } from "../result.js";
import { jsonLogSafe } from "./escape.js";
import { GITHUB_SARIF_LIMITS, type ReportOptions, type SarifLimits } from "./options.js";
import { securitySeverity, upper } from "./severity.js";
import { buildView, fixText, signatureSummary, type FindingRow } from "./view.js";

const SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

type Json = Record<string, unknown>;

/**
 * SARIF 2.1.0 for code scanning. One rule per vulnerability id, one result per finding. The level
 * comes from the gate (error: the finding violates the policy; warning: reported only), and
 * suppressed findings stay in the file with a `suppressions` entry so GitHub shows them as dismissed.
 * An image has no source file, so results point at the Dockerfile when one is given, else at the
 * path the package was read from, with a logical location naming image and package.
 * Output is kept within GitHub's limits; whatever is cut is counted in `run.properties`.
 */
export function renderSarif(result: ScanResult, options: ReportOptions = {}): string {
  const limits: SarifLimits = { ...GITHUB_SARIF_LIMITS, ...options.sarifLimits };
  const view = buildView(result, options);
  // Violations first, then by severity: what GitHub keeps when it shows only the top results.
  const ordered = [
    ...view.rows.filter((row) => row.state === "violation"),
    ...view.rows.filter((row) => row.state !== "violation"),
    ...view.suppressed,
  ];
  const notes: string[] = [];
  let kept = ordered;
  if (kept.length > limits.maxResultsPerRun) {
    notes.push(
      `${kept.length - limits.maxResultsPerRun} results left out: GitHub accepts ${limits.maxResultsPerRun} per run`,
    );
    kept = kept.slice(0, limits.maxResultsPerRun);
  }
  let document = buildDocument(result, kept, options, limits, notes, view.hidden, ordered.length);
  let text = JSON.stringify(document, null, 2);
  // Shrink by the measured ratio until the gzipped file fits; each pass is exact, not estimated.
  while (gzipSync(text).length > limits.maxGzipBytes && kept.length > 0) {
    const ratio = limits.maxGzipBytes / gzipSync(text).length;
    const next = Math.max(0, Math.min(kept.length - 1, Math.floor(kept.length * ratio * 0.95)));
    kept = kept.slice(0, next);
    const sizeNote = `results cut to ${next} to stay under ${limits.maxGzipBytes} gzipped bytes`;
    document = buildDocument(result, kept, options, limits, [...notes, sizeNote], view.hidden, ordered.length);
    text = JSON.stringify(document, null, 2);
  }
  // Measured before the log-safe escapes: they only ever add a few bytes for hostile text.
  return `${jsonLogSafe(text)}\n`;
}

function buildDocument(
  result: ScanResult,
  rows: readonly FindingRow[],
  options: ReportOptions,
  limits: SarifLimits,
  notes: string[],
  hiddenByFilter: number,
  total: number,
): Json {
  const ruleIndex = new Map<string, number>();
  const rules: Json[] = [];
  for (const row of rows) {
    if (ruleIndex.has(row.finding.id)) continue;
    ruleIndex.set(row.finding.id, rules.length);
    rules.push(rule(row.finding, rows));
  }
  const runProperties: Json = {
    imageReference: result.artifact.reference,
    manifestDigest: result.artifact.manifestDigest,
    ...(result.policy ? { policyOutcome: result.policy.outcome } : {}),
    ...(result.signature
      ? { signatureStatus: result.signature.status, signature: signatureSummary(result) ?? "" }
      : {}),
  };
  if (hiddenByFilter > 0) runProperties.hiddenByReportFilter = hiddenByFilter;
  // SARIF results are findings; files the scan could not read in full ride along so code scanning shows the gap.
  if (result.incomplete?.length) runProperties.inventoryIncomplete = result.incomplete.map((gap) => gap.path);
  if (notes.length > 0) {
    runProperties.truncated = true;
    runProperties.truncationNotes = notes;
    runProperties.omittedResults = total - rows.length;
  }
  return {
    $schema: SARIF_SCHEMA,
    version: "2.1.0",
    runs: [
      {
        tool: {
          driver: {
            name: "Stowaway",
            version: result.scanner.version,
            semanticVersion: result.scanner.version,
            rules,
          },
        },
        results: rows.map((row) => sarifResult(row, result, options, limits, ruleIndex.get(row.finding.id)!)),
        columnKind: "utf16CodeUnits",
        properties: runProperties,
      },
    ],
  };
}

function rule(finding: Finding, rows: readonly FindingRow[]): Json {
  // A rule speaks for every finding of its id; the worst of them sets its severity.
  const same = rows.filter((row) => row.finding.id === finding.id).map((row) => row.finding);
  const worst = same.reduce((a, b) => (Number(securitySeverity(b)) > Number(securitySeverity(a)) ? b : a));
  const fixes = [...new Set(same.map((item) => `${item.packageName}: ${fixText(item)}`))];
  const title = finding.summary?.trim() || `${finding.id} in ${finding.packageName}`;
  const reference = finding.references?.find((url) => /^https?:\/\//.test(url));
  const helpLines = [
    `Vulnerability ${finding.id}`,
    `Severity: ${upper(worst.severity)} (${worst.severitySource})`,
    ...fixes.map((fix) => `Fixed version: ${fix}`),
    ...(finding.aliases.length ? [`Aliases: ${finding.aliases.join(", ")}`] : []),
    ...(reference ? [`More: ${reference}`] : []),
  ];
  return {
    id: finding.id,
    name: "ContainerImageVulnerability",
    shortDescription: { text: title.slice(0, 1000) },
    fullDescription: { text: title },
    ...(reference ? { helpUri: reference } : {}),
    help: { text: helpLines.join("\n") },
    defaultConfiguration: { level: "warning" },
    properties: {
      "security-severity": securitySeverity(worst),
      tags: ["security", "vulnerability", "container", worst.severity],
      precision: "very-high",
    },
  };
}

function sarifResult(
  row: FindingRow,
  result: ScanResult,
  options: ReportOptions,
  limits: SarifLimits,
  index: number,
): Json {
  const { finding, pkg } = row;
  const level = row.state === "violation" ? "error" : row.state === "suppressed" ? "note" : "warning";
  const packageLabel = `${finding.packageName}@${finding.installedVersion}`;
  const uris = options.artifactUri
    ? [options.artifactUri]
    : pkg && pkg.locations.length > 0
      ? pkg.locations
      : [`image/${finding.packageName}`];
  const logical = [
    {
      name: packageLabel,
      fullyQualifiedName: `${result.artifact.reference}/${packageLabel}`,
      kind: "module",
    },
  ];
  const locations = uris.slice(0, limits.maxLocationsPerResult).map((uri) => ({
    physicalLocation: {
      artifactLocation: { uri: uri.replace(/^\/+/, "") },
      region: { startLine: options.artifactLine ?? 1 },
    },
    logicalLocations: logical,
    message: { text: `${result.artifact.reference}: ${packageLabel}` },
  }));
  const message = [
    `${finding.id} (${upper(finding.severity)}) in ${packageLabel}, layer ${finding.layerIndex}`,
    `Fixed version: ${fixText(finding)}`,
    ...(row.rules.length ? [`Policy: violates ${row.rules.join(", ")}`] : []),
    ...(row.suppression ? [`Suppressed (${row.suppression.source}): ${row.suppression.reason}`] : []),
  ].join("\n");
  return {
    ruleId: finding.id,
    ruleIndex: index,
    level,
    message: { text: message },
    locations,
    partialFingerprints: { "stowaway/findingId": finding.findingId },
    ...(row.suppression
      ? {
          suppressions: [
            {
              kind: "external",
              status: "accepted",
              justification: `${row.suppression.source}: ${row.suppression.reason}${row.suppression.expires ? ` (expires ${row.suppression.expires})` : ""}`,
            },
          ],
        }
      : {}),
    properties: {
      packageName: finding.packageName,
      installedVersion: finding.installedVersion,
      ...(finding.fixedVersion ? { fixedVersion: finding.fixedVersion } : {}),
      severity: finding.severity,
      severitySource: finding.severitySource,
      layerIndex: finding.layerIndex,
      kev: finding.kev,
      ...(uris.length > limits.maxLocationsPerResult
        ? { omittedLocations: uris.length - limits.maxLocationsPerResult }
        : {}),
    },
  };
}
