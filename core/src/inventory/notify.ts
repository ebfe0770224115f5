import { StowawayError } from "../errors.js";
import { plural } from "../plural.js";
import type { FindingChange } from "../store/types.js";

export interface WebhookSummary {
  runId: string;
  kind: "scan" | "rescan";
  target: string;
  newFindings: number;
  fixedFindings: number;
  newlyFixable: number;
  /** New findings, most severe first, at most 50 (the count above is complete). */
  findings: (Pick<
    FindingChange,
    "vulnerabilityId" | "severity" | "packageName" | "installedVersion" | "fixedVersion" | "digest"
  > & {
    references: string[];
  })[];
}

const ORDER = ["critical", "high", "medium", "low", "negligible", "unknown"];
// eslint-disable-next-line no-control-regex
const oneLine = (text: string) => text.replace(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, " ");

/**
 * The payload: `text` is what Slack incoming webhooks and Teams (Office 365 connector and
 * Workflows "post to a channel when a webhook request is received" with a text field) display;
 * `stowaway` carries the structured summary for any other receiver.
 */
export function webhookPayload(summary: WebhookSummary): Record<string, unknown> {
  const head =
    `Stowaway ${summary.kind} of ${oneLine(summary.target || "the store")}: ${plural(summary.newFindings, "new finding")}, ` +
    `${summary.fixedFindings} fixed, ${summary.newlyFixable} newly fixable`;
  const lines = summary.findings
    .slice(0, 10)
    .map(
      (f) =>
        `• ${oneLine(f.vulnerabilityId)} (${f.severity}) ${oneLine(f.packageName)} ${oneLine(f.installedVersion)}` +
        `${f.fixedVersion ? ` → ${oneLine(f.fixedVersion)}` : ""} in ${oneLine(f.references.join(", ") || f.digest)}`,
    );
  return { text: [head, ...lines].join("\n"), stowaway: summary };
}

export function summariseChanges(
  run: { runId: string; kind: "scan" | "rescan"; target: string },
  changes: FindingChange[],
  references: (digest: string) => string[],
): WebhookSummary {
  const news = changes
    .filter((change) => change.kind === "new")
    .sort(
      (a, b) =>
        ORDER.indexOf(a.severity) - ORDER.indexOf(b.severity) || a.vulnerabilityId.localeCompare(b.vulnerabilityId),
    );
  return {
    ...run,
    newFindings: news.length,
    fixedFindings: changes.filter((change) => change.kind === "fixed").length,
    newlyFixable: changes.filter((change) => change.kind === "newly-fixable").length,
    findings: news.slice(0, 50).map((change) => ({
      vulnerabilityId: change.vulnerabilityId,
      severity: change.severity,
      packageName: change.packageName,
      installedVersion: change.installedVersion,
      ...(change.fixedVersion ? { fixedVersion: change.fixedVersion } : {}),
      digest: change.digest,
      references: references(change.digest),
    })),
  };
}

/** POSTs the summary. The URL is a secret (Slack, Teams): errors name its host only. */
export async function postWebhook(url: string, summary: WebhookSummary, timeoutMs = 15_000): Promise<void> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new StowawayError("--notify-webhook is not a URL; give the https:// address of the incoming webhook");
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
    throw new StowawayError("--notify-webhook must be an http(s):// URL");
  }
  let response: Response;
  try {
    response = await fetch(parsed, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(webhookPayload(summary)),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    throw new StowawayError(
      `the webhook at ${parsed.host} could not be reached (${(error as Error).name}); the results are stored, notify again later`,
    );
  }
  await response.body?.cancel();
  if (!response.ok) {
    throw new StowawayError(
      `the webhook at ${parsed.host} answered HTTP ${response.status}; the results are stored, check the webhook URL`,
    );
  }
}
