import type { InventoryReport } from "../inventory/report-data.js";
import { escapeHtml, escapeMarkdown } from "./escape.js";
import { jsonLogSafe, neutralizeLog, plural } from "./neutralize.js";

export const INVENTORY_REPORT_FORMATS = ["table", "json", "markdown", "html"] as const;
export type InventoryReportFormat = (typeof INVENTORY_REPORT_FORMATS)[number];

const SHORT = (digest: string) => digest.replace(/^sha256:/, "").slice(0, 12);

function counts(row: InventoryReport["images"][number]): string {
  if (row.findings === undefined) return "not checked";
  const c = row.counts;
  // Negligible and unrated findings are shown when present, so a row whose worst is UNKNOWN never reads as clean.
  const rest = `${c.negligible ? ` N${c.negligible}` : ""}${c.unknown ? ` U${c.unknown}` : ""}`;
  return `C${c.critical} H${c.high} M${c.medium} L${c.low}${rest}`;
}

type Workload = NonNullable<NonNullable<InventoryReport["cve"]>["workloads"]>[number];

const repositoriesAndImages = (registry: { repositories: number; images: number }): string =>
  `${plural(registry.repositories, "repository", "repositories")}, ${plural(registry.images, "image")}`;

const cveSpread = (cve: NonNullable<InventoryReport["cve"]>): string =>
  `${plural(cve.images.length, "image")}, ${plural(cve.tags, "tag")}, ` +
  `${plural(cve.repositories, "repository", "repositories")}, ${plural(cve.registries, "registry", "registries")}`;

/** The running-image flags line, the same counts in every format. */
function runningLine(running: NonNullable<InventoryReport["running"]>): string {
  return (
    `${plural(running.containers, "container")} in ${plural(running.clusters, "cluster")} ${running.containers === 1 ? "runs" : "run"} ${plural(running.images, "image")}: ` +
    `${running.exposed} with findings, ${running.drift} drifted from their tag, ${running.neverScanned} never scanned, ${running.denied} denied`
  );
}

const WORKLOAD_HEADINGS = ["Cluster", "Namespace", "Workload", "Container", "Image", "Digest"];
const workloadCells = (w: Workload): string[] => [w.cluster, w.namespace, w.workload, w.container, w.image];

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows
    .map((row) =>
      row
        .map((cell, column) => cell.padEnd(widths[column]!))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

function renderTable(report: InventoryReport): string {
  const out: string[] = [];
  out.push(`Store ${neutralizeLog(report.store)}`);
  for (const registry of report.registries) {
    out.push(`Registry ${neutralizeLog(registry.registry)}: ${repositoriesAndImages(registry)}`);
  }
  out.push("");
  if (report.images.length === 0) out.push("No images stored yet; run `stowaway registry scan REGISTRY` first.");
  else {
    const running = report.running !== undefined;
    out.push(
      table([
        ["WORST", "FINDINGS", "DIGEST", "PLATFORM", ...(running ? ["RUNNING"] : []), "TAGS"],
        ...report.images.map((row) => [
          (row.worst ?? "-").toUpperCase(),
          counts(row),
          SHORT(row.digest),
          neutralizeLog(row.platform),
          ...(running ? [String(row.running ?? 0)] : []),
          neutralizeLog(row.references.join(", ") || "(no current tag)"),
        ]),
      ]),
    );
  }
  if (report.running) out.push("", `Running: ${runningLine(report.running)}`);
  out.push("");
  if (report.lastRun) {
    const news = report.changes.filter((change) => change.kind === "new");
    out.push(
      `New since last run (${neutralizeLog(report.lastRun.kind)} ${neutralizeLog(report.lastRun.id)}): ${news.length} new, ` +
        `${report.changes.filter((c) => c.kind === "fixed").length} fixed, ` +
        `${report.changes.filter((c) => c.kind === "newly-fixable").length} newly fixable`,
    );
    for (const change of report.changes) {
      out.push(
        `  ${change.kind.padEnd(13)} ${neutralizeLog(change.vulnerabilityId)} ${change.severity} ${neutralizeLog(change.packageName)} ` +
          `${neutralizeLog(change.installedVersion)}${change.fixedVersion ? ` -> ${neutralizeLog(change.fixedVersion)}` : ""} ` +
          `in ${neutralizeLog(change.references.join(", ") || SHORT(change.digest))}`,
      );
    }
  }
  if (report.cve) {
    const cve = report.cve;
    out.push("");
    out.push(`${neutralizeLog(cve.id)}: ${cveSpread(cve)}`);
    for (const image of cve.images) {
      out.push(
        `  ${SHORT(image.digest)} ${neutralizeLog(image.packageName)} ${neutralizeLog(image.installedVersion)}` +
          `${image.fixedVersion ? ` (fixed in ${neutralizeLog(image.fixedVersion)})` : " (no fix yet)"} ` +
          `${neutralizeLog(image.references.join(", ") || "(no current tag)")}`,
      );
    }
    if (!cve.workloads) out.push("Running: no cluster inventory recorded (stowaway cluster inventory)");
    else {
      out.push(`Running in ${cve.workloads.length} containers:`);
      for (const w of cve.workloads) {
        out.push(`  ${workloadCells(w).map(neutralizeLog).join(" ")} ${SHORT(w.digest)}`);
      }
    }
  }
  return `${out.join("\n")}\n`;
}

function renderMarkdown(report: InventoryReport): string {
  const md = escapeMarkdown;
  const running = report.running !== undefined;
  const out: string[] = ["# Registry inventory", ""];
  for (const registry of report.registries) {
    out.push(`- **${md(registry.registry)}**: ${repositoriesAndImages(registry)}`);
  }
  out.push(
    "",
    "## Images by worst severity",
    "",
    `| Worst | Findings | Digest | Platform |${running ? " Running |" : ""} Tags |`,
    `|---|---|---|---|${running ? "---|" : ""}---|`,
  );
  for (const row of report.images) {
    out.push(
      `| ${(row.worst ?? "-").toUpperCase()} | ${counts(row)} | \`${SHORT(row.digest)}\` | ${md(row.platform)} |${running ? ` ${row.running ?? 0} |` : ""} ${md(row.references.join(", ") || "(no current tag)")} |`,
    );
  }
  if (report.running) out.push("", `Running: ${runningLine(report.running)}.`);
  out.push("", "## New since last run", "");
  if (report.changes.length === 0) out.push("No changes.");
  else {
    out.push(
      "| Change | Vulnerability | Severity | Package | Installed | Fixed | Tags |",
      "|---|---|---|---|---|---|---|",
    );
    for (const c of report.changes) {
      out.push(
        `| ${c.kind} | ${md(c.vulnerabilityId)} | ${c.severity} | ${md(c.packageName)} | ${md(c.installedVersion)} | ${md(c.fixedVersion ?? "")} | ${md(c.references.join(", "))} |`,
      );
    }
  }
  if (report.cve) {
    const cve = report.cve;
    out.push("", `## ${md(cve.id)}`, "", `${cveSpread(cve)}.`, "");
    for (const image of cve.images) {
      out.push(
        `- \`${SHORT(image.digest)}\` ${md(image.packageName)} ${md(image.installedVersion)} ${md(image.references.join(", "))}`,
      );
    }
    out.push("", `### Running workloads`, "");
    if (!cve.workloads) out.push("No cluster inventory recorded (`stowaway cluster inventory`).");
    else if (cve.workloads.length === 0) out.push("No recorded running container has it.");
    else {
      out.push(`| ${WORKLOAD_HEADINGS.join(" | ")} |`, `|${"---|".repeat(WORKLOAD_HEADINGS.length)}`);
      for (const w of cve.workloads) {
        out.push(`| ${workloadCells(w).map(md).join(" | ")} | \`${SHORT(w.digest)}\` |`);
      }
    }
  }
  return `${out.join("\n")}\n`;
}

function renderHtml(report: InventoryReport): string {
  const h = escapeHtml;
  const running = report.running !== undefined;
  const rows = report.images
    .map(
      (row) =>
        `<tr><td>${h((row.worst ?? "-").toUpperCase())}</td><td>${h(counts(row))}</td><td><code>${h(SHORT(row.digest))}</code></td><td>${h(row.platform)}</td>${running ? `<td>${row.running ?? 0}</td>` : ""}<td>${h(row.references.join(", ") || "(no current tag)")}</td></tr>`,
    )
    .join("\n");
  const changes = report.changes
    .map(
      (c) =>
        `<tr><td>${h(c.kind)}</td><td>${h(c.vulnerabilityId)}</td><td>${h(c.severity)}</td><td>${h(c.packageName)}</td><td>${h(c.installedVersion)}</td><td>${h(c.fixedVersion ?? "")}</td><td>${h(c.references.join(", "))}</td></tr>`,
    )
    .join("\n");
  const cve = report.cve
    ? `<h2>${h(report.cve.id)}</h2><p>${plural(report.cve.images.length, "image")}, ${plural(report.cve.tags, "tag")}, ${plural(report.cve.repositories, "repository", "repositories")}</p><ul>${report.cve.images
        .map(
          (image) =>
            `<li><code>${h(SHORT(image.digest))}</code> ${h(image.packageName)} ${h(image.installedVersion)} ${h(image.references.join(", "))}</li>`,
        )
        .join("")}</ul>${htmlWorkloads(report.cve.workloads)}`
    : "";
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>Stowaway registry inventory</title></head><body>
<h1>Registry inventory</h1>
<ul>${report.registries.map((r) => `<li>${h(r.registry)}: ${repositoriesAndImages(r)}</li>`).join("")}</ul>
<h2>Images by worst severity</h2>
<table><thead><tr><th>Worst</th><th>Findings</th><th>Digest</th><th>Platform</th>${running ? "<th>Running</th>" : ""}<th>Tags</th></tr></thead><tbody>
${rows}
</tbody></table>
${report.running ? `<p>Running: ${h(runningLine(report.running))}</p>` : ""}
<h2>New since last run</h2>
<table><thead><tr><th>Change</th><th>Vulnerability</th><th>Severity</th><th>Package</th><th>Installed</th><th>Fixed</th><th>Tags</th></tr></thead><tbody>
${changes}
</tbody></table>
${cve}
</body></html>
`;
}

function htmlWorkloads(workloads: Workload[] | undefined): string {
  const h = escapeHtml;
  if (!workloads) return "<h3>Running workloads</h3><p>No cluster inventory recorded (stowaway cluster inventory).</p>";
  if (workloads.length === 0) return "<h3>Running workloads</h3><p>No recorded running container has it.</p>";
  const head = WORKLOAD_HEADINGS.map((name) => `<th>${name}</th>`).join("");
  const body = workloads
    .map(
      (w) =>
        `<tr>${workloadCells(w)
          .map((text) => `<td>${h(text)}</td>`)
          .join("")}<td><code>${h(SHORT(w.digest))}</code></td></tr>`,
    )
    .join("\n");
  return `<h3>Running workloads</h3>\n<table><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

/** The inventory report in `format`; JSON is the report object itself (stable field names). */
export function renderInventoryReport(format: InventoryReportFormat, report: InventoryReport): string {
  switch (format) {
    case "json":
      return `${jsonLogSafe(JSON.stringify(report, null, 2))}\n`;
    case "markdown":
      return renderMarkdown(report);
    case "html":
      return renderHtml(report);
    default:
      return renderTable(report);
  }
}
