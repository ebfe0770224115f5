import { createHash } from "node:crypto";
import type { ScanResult } from "../result.js";
import { escapeHtml, isWebUrl } from "./escape.js";
import type { ReportOptions } from "./options.js";
import { SEVERITIES_DESCENDING, upper } from "./severity.js";
import { plural } from "../plural.js";
import { buildView, fixText, signatureSummary, totalActive, type FindingRow, type ReportView } from "./view.js";

const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem;color:#1f2328;background:#fff}
h1{font-size:1.4rem;margin:0 0 .25rem}h2{font-size:1.1rem;margin:1.8rem 0 .5rem}
.meta{color:#59636e;margin-bottom:1rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0}
th,td{border:1px solid #d1d9e0;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}
.counts td{text-align:right;font-weight:600}
.outcome{display:inline-block;padding:.2rem .6rem;border-radius:4px;font-weight:700}
.outcome-pass{background:#dafbe1}.outcome-warn{background:#fff8c5}.outcome-fail{background:#ffebe9}.outcome-none{background:#f6f8fa}
.sev-critical{color:#82071e;font-weight:700}.sev-high{color:#cf222e;font-weight:600}.sev-medium{color:#9a6700}
.violation{background:#fff5f5}
.filters{display:flex;gap:1rem;flex-wrap:wrap;align-items:center;margin:.5rem 0}
`;

// Filters rows by severity, package name and fixability; rows carry the facts as data attributes.
const SCRIPT = `
(function(){
  var sev=document.getElementById('filter-severity');
  var pkg=document.getElementById('filter-package');
  var fix=document.getElementById('filter-fixable');
  var shown=document.getElementById('shown-count');
  function apply(){
    var s=sev.value,p=pkg.value.trim().toLowerCase(),f=fix.checked,n=0;
    var rows=document.querySelectorAll('#findings tbody tr');
    for(var i=0;i<rows.length;i++){
      var r=rows[i];
      var ok=(s===''||r.getAttribute('data-severity')===s)&&(p===''||r.getAttribute('data-package').toLowerCase().indexOf(p)!==-1)&&(!f||r.getAttribute('data-fixable')==='true');
      r.hidden=!ok;if(ok)n++;
    }
    shown.textContent=String(n);
  }
  sev.addEventListener('change',apply);pkg.addEventListener('input',apply);fix.addEventListener('change',apply);
  apply();
})();
`;

function cspHash(text: string): string {
  return `'sha256-${createHash("sha256").update(text).digest("base64")}'`;
}

/**
 * One self-contained HTML file: no external scripts, styles, fonts or images, and a Content
 * Security Policy that allows only its own inline style and script (by hash) and blocks all
 * fetching. Every value from the scan is escaped.
 */
export function renderHtml(result: ScanResult, options: ReportOptions = {}): string {
  const view = buildView(result, options);
  const title = `Stowaway report: ${result.artifact.reference}`;
  const csp = `default-src 'none'; style-src ${cspHash(STYLE)}; script-src ${cspHash(SCRIPT)}; img-src 'none'; connect-src 'none'; form-action 'none'; base-uri 'none'`;
  const body = [
    `<h1>${escapeHtml(title)}</h1>`,
    `<div class="meta">${escapeHtml(metaLine(result))}</div>`,
    outcomeBlock(view),
    countsTable(view),
    violationsBlock(view),
    findingsBlock(view),
    suppressedBlock(view),
    warningsBlock(view),
  ].join("\n");
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(csp)}">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
${body}
<script>${SCRIPT}</script>
</body>
</html>
`;
}

function metaLine(result: ScanResult): string {
  const { artifact } = result;
  const os = artifact.os.prettyName ?? [artifact.os.family, artifact.os.version].filter(Boolean).join(" ");
  const db = result.database ? `database built ${result.database.builtAt}` : "no vulnerability database";
  return `${artifact.manifestDigest} · ${os || "unknown OS"} · ${plural(result.packages.length, "package")} · ${db} · Stowaway ${result.scanner.version}`;
}

function outcomeBlock(view: ReportView): string {
  const outcome = view.verdict?.outcome;
  const label = outcome ? `Policy: ${outcome.toUpperCase()}` : "Policy: not evaluated";
  const signature = signatureSummary(view.result);
  const signatureLine = signature ? `\n<p id="signature">Signature: ${escapeHtml(signature)}</p>` : "";
  return `<p><span id="policy-outcome" class="outcome outcome-${outcome ?? "none"}">${escapeHtml(label)}</span></p>${signatureLine}`;
}

function countsTable(view: ReportView): string {
  if (view.result.findings === undefined) {
    return `<p>No vulnerability database was used: the packages were inventoried but not checked.</p>`;
  }
  const head = SEVERITIES_DESCENDING.map((severity) => `<th>${upper(severity)}</th>`).join("");
  const cells = SEVERITIES_DESCENDING.map(
    (severity) => `<td data-count="${severity}">${view.counts[severity]}</td>`,
  ).join("");
  return `<table class="counts" id="counts"><thead><tr>${head}<th>SUPPRESSED</th><th>TOTAL</th></tr></thead>
<tbody><tr>${cells}<td data-count="suppressed">${view.suppressed.length}</td><td data-count="total">${totalActive(view)}</td></tr></tbody></table>`;
}

function violationsBlock(view: ReportView): string {
  const violations = view.verdict?.violations ?? [];
  if (violations.length === 0) return "";
  const items = violations
    .map((violation) => `<li><strong>${escapeHtml(violation.rule)}</strong>: ${escapeHtml(violation.message)}</li>`)
    .join("\n");
  return `<h2>Policy violations (${violations.length})</h2>\n<ul id="violations">\n${items}\n</ul>`;
}

function findingsBlock(view: ReportView): string {
  if (view.result.findings === undefined) return "";
  const options = SEVERITIES_DESCENDING.map(
    (severity) => `<option value="${severity}">${upper(severity)}</option>`,
  ).join("");
  const hidden =
    view.hidden > 0
      ? `<p>${plural(view.hidden, "finding")} below ${escapeHtml(view.minSeverity ?? "")} ${view.hidden === 1 ? "is" : "are"} not listed (report filter; the gate still counts them).</p>`
      : "";
  const rows = view.rows.map(findingRow).join("\n");
  return `<h2>Findings (<span id="shown-count">${view.rows.length}</span> of ${view.rows.length} shown)</h2>
${hidden}
<div class="filters">
<label>Severity <select id="filter-severity"><option value="">all</option>${options}</select></label>
<label>Package <input id="filter-package" type="search" placeholder="name contains"></label>
<label><input id="filter-fixable" type="checkbox"> fixable only</label>
</div>
<table id="findings"><thead><tr><th>Severity</th><th>ID</th><th>Package</th><th>Installed</th><th>Fixed</th><th>Layer</th><th>Rated by</th><th>Gate</th><th>Summary</th></tr></thead>
<tbody>
${rows}
</tbody></table>`;
}

function findingRow(row: FindingRow): string {
  const { finding } = row;
  const link = finding.references?.find(isWebUrl);
  const id = link
    ? `<a href="${escapeHtml(link)}" rel="noopener noreferrer">${escapeHtml(finding.id)}</a>`
    : escapeHtml(finding.id);
  const attributes = [
    `data-severity="${finding.severity}"`,
    `data-package="${escapeHtml(finding.packageName)}"`,
    `data-fixable="${finding.fixedVersion ? "true" : "false"}"`,
    row.state === "violation" ? `class="violation"` : "",
  ]
    .filter(Boolean)
    .join(" ");
  return `<tr ${attributes}><td class="sev-${finding.severity}">${upper(finding.severity)}</td><td>${id}</td><td>${escapeHtml(finding.packageName)}</td><td>${escapeHtml(finding.installedVersion)}</td><td>${escapeHtml(fixText(finding))}</td><td>${finding.layerIndex}</td><td>${escapeHtml(finding.severitySource)}</td><td>${escapeHtml(row.rules.join(", "))}</td><td>${escapeHtml(finding.summary ?? "")}</td></tr>`;
}

function suppressedBlock(view: ReportView): string {
  if (view.suppressed.length === 0) return "";
  const rows = view.suppressed
    .map(
      ({ finding, suppression }) =>
        `<tr><td>${escapeHtml(finding.id)}</td><td>${escapeHtml(finding.packageName)}</td><td>${escapeHtml(finding.installedVersion)}</td><td>${escapeHtml(suppression!.source)}</td><td>${escapeHtml(suppression!.reason)}</td><td>${escapeHtml(suppression!.expires ?? "")}</td></tr>`,
    )
    .join("\n");
  return `<h2>Suppressed (${view.suppressed.length})</h2>
<table id="suppressed"><thead><tr><th>ID</th><th>Package</th><th>Installed</th><th>Source</th><th>Reason</th><th>Expires</th></tr></thead>
<tbody>
${rows}
</tbody></table>`;
}

function warningsBlock(view: ReportView): string {
  const warnings = [...(view.verdict?.warnings ?? []), ...view.result.warnings];
  if (warnings.length === 0) return "";
  return `<h2>Warnings</h2>\n<ul id="warnings">\n${warnings.map((warning) => `<li>${escapeHtml(warning)}</li>`).join("\n")}\n</ul>`;
}
