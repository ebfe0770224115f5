/**
 * The server-rendered page shells. They carry no stored data (the data calls need a token the
 * shell does not have); the client script fills them from the read-model endpoints with DOM text
 * nodes only. The one value from the request that reaches the markup (a digest or vulnerability id
 * from the path) is HTML-escaped.
 */

export type PageKind = "overview" | "image" | "cve" | "registries";

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => ESCAPES[char]!);
}

const SEVERITY_OPTIONS = ["critical", "high", "medium", "low", "negligible", "unknown", "none", "unchecked"];

function severitySelect(id: string, label: string, values: string[]): string {
  const options = values.map((value) => `<option value="${value}">${value}</option>`).join("");
  return `<label for="${id}">${label}</label><select id="${id}" name="${id}"><option value="">any</option>${options}</select>`;
}

function overviewBody(): string {
  return `<h1>Overview</h1>
<section aria-labelledby="totals-h"><h2 id="totals-h">Inventory</h2>
<dl id="totals" class="stats"></dl></section>
<section aria-labelledby="worst-h"><h2 id="worst-h">Images by worst severity</h2>
<ul id="by-severity" class="buckets"></ul></section>
<section aria-labelledby="new-h"><h2 id="new-h">New since yesterday</h2>
<dl id="new-since" class="stats"></dl><p id="last-run" class="muted"></p></section>
<section aria-labelledby="running-h"><h2 id="running-h">Running in clusters</h2>
<dl id="running" class="stats"></dl><p id="running-note" class="muted"></p></section>
<section aria-labelledby="trend-h"><h2 id="trend-h">Findings over runs</h2>
<div id="trend-chart" role="img" aria-labelledby="trend-h" aria-describedby="trend-note"></div>
<p id="trend-note" class="muted">Each line has its own dash pattern; the table below lists the same numbers.</p>
<table id="trend-table"><caption>Findings by severity after each run</caption><thead><tr><th scope="col">Run</th><th scope="col">Finished</th><th scope="col">Critical</th><th scope="col">High</th><th scope="col">Medium</th><th scope="col">Low</th><th scope="col">Unknown</th></tr></thead><tbody></tbody></table></section>
<section aria-labelledby="images-h"><h2 id="images-h">Images</h2>
<form id="image-filters" class="filters" role="search" aria-label="Filter images">
${severitySelect("filter-severity", "Worst severity", SEVERITY_OPTIONS)}
<label for="filter-repository">Repository</label><input id="filter-repository" name="repository" type="text" autocomplete="off">
<label for="filter-q">Search</label><input id="filter-q" name="q" type="search" autocomplete="off" placeholder="digest or tag">
<button type="submit">Apply</button></form>
<p id="images-status" role="status" aria-live="polite"></p>
<table id="images"><caption class="visually-hidden">Images, worst first</caption><thead><tr><th scope="col">Image</th><th scope="col">Tags</th><th scope="col">Worst</th><th scope="col">Critical</th><th scope="col">High</th><th scope="col">Medium</th><th scope="col">Low</th><th scope="col">Verdict</th></tr></thead><tbody></tbody></table>
<nav class="pager" aria-label="Image pages"><button type="button" id="prev-page">Previous page</button><button type="button" id="next-page">Next page</button></nav>
</section>`;
}

function imageBody(digest: string): string {
  return `<h1>Image <code id="image-digest">${escapeHtml(digest)}</code></h1>
<p id="image-meta" class="muted"></p>
<section aria-labelledby="verdict-h"><h2 id="verdict-h">Verdict</h2><p id="verdict"></p><ul id="violations"></ul></section>
<section aria-labelledby="counts-h"><h2 id="counts-h">Findings by severity</h2><ul id="image-counts" class="buckets"></ul></section>
<section aria-labelledby="findings-h"><h2 id="findings-h">Findings</h2>
<form id="finding-filters" class="filters" role="search" aria-label="Filter findings">
${severitySelect("finding-severity", "Severity", ["critical", "high", "medium", "low", "negligible", "unknown"])}
<label for="finding-text">Package or id</label><input id="finding-text" type="search" autocomplete="off">
<span class="check"><input id="finding-fixable" type="checkbox"><label for="finding-fixable">Fix available only</label></span>
</form>
<p id="findings-status" role="status" aria-live="polite"></p>
<table id="findings" aria-describedby="findings-status"><caption class="visually-hidden">Findings, worst first, with why each matched</caption><thead><tr><th scope="col">Vulnerability</th><th scope="col">Severity</th><th scope="col">Package</th><th scope="col">Installed</th><th scope="col">Fixed in</th><th scope="col">Layer</th><th scope="col">Why it matched</th></tr></thead><tbody></tbody></table></section>
<section aria-labelledby="layers-h"><h2 id="layers-h">Layers</h2>
<table id="layers" aria-labelledby="layers-h"><thead><tr><th scope="col">#</th><th scope="col">Created by</th><th scope="col">Size</th><th scope="col">Packages</th><th scope="col">Findings</th></tr></thead><tbody></tbody></table></section>
<section aria-labelledby="packages-h"><h2 id="packages-h">Packages</h2>
<form id="package-filters" class="filters" role="search" aria-label="Filter packages">
<label for="package-text">Name</label><input id="package-text" type="search" autocomplete="off"></form>
<p id="packages-status" role="status" aria-live="polite"></p>
<table id="packages" aria-labelledby="packages-h"><thead><tr><th scope="col">Name</th><th scope="col">Version</th><th scope="col">Type</th><th scope="col">Layer</th></tr></thead><tbody></tbody></table></section>
<section aria-labelledby="seen-h"><h2 id="seen-h">Where it was seen</h2>
<table id="sightings" aria-labelledby="seen-h"><thead><tr><th scope="col">Reference</th><th scope="col">Current</th><th scope="col">First seen</th><th scope="col">Last seen</th></tr></thead><tbody></tbody></table></section>`;
}

function cveBody(id: string): string {
  return `<h1>Vulnerability <span id="cve-id">${escapeHtml(id)}</span></h1>
<p id="cve-severity"></p><p id="cve-summary"></p><p id="cve-aliases" class="muted"></p>
<section aria-labelledby="spread-h"><h2 id="spread-h">How widespread</h2><dl id="cve-counts" class="stats"></dl></section>
<section aria-labelledby="where-h"><h2 id="where-h">Where it is</h2>
<table id="cve-images" aria-labelledby="where-h"><thead><tr><th scope="col">Image</th><th scope="col">Tags</th><th scope="col">Package</th><th scope="col">Installed</th><th scope="col">Fixed in</th></tr></thead><tbody></tbody></table></section>
<section aria-labelledby="cve-running-h"><h2 id="cve-running-h">Running in clusters</h2>
<p id="cve-running-status" role="status"></p>
<table id="cve-workloads" aria-labelledby="cve-running-h"><thead><tr><th scope="col">Cluster</th><th scope="col">Namespace</th><th scope="col">Workload</th><th scope="col">Container</th><th scope="col">Image</th></tr></thead><tbody></tbody></table></section>`;
}

function registriesBody(): string {
  return `<h1>Registries</h1>
<table id="registries"><caption class="visually-hidden">Registries and their repositories</caption><thead><tr><th scope="col">Registry / repository</th><th scope="col">Repositories</th><th scope="col">Tags</th><th scope="col">Images</th><th scope="col">Worst</th><th scope="col">Last seen</th></tr></thead><tbody></tbody></table>`;
}

const TITLES: Record<PageKind, string> = {
  overview: "Overview",
  image: "Image",
  cve: "Vulnerability",
  registries: "Registries",
};

/** One complete page: header, navigation, the page's skeleton and the token dialog. */
export function renderPage(kind: PageKind, parameter = ""): string {
  const body =
    kind === "overview"
      ? overviewBody()
      : kind === "image"
        ? imageBody(parameter)
        : kind === "cve"
          ? cveBody(parameter)
          : registriesBody();
  const title = parameter ? `${TITLES[kind]} ${parameter}` : TITLES[kind];
  const current = (page: PageKind) => (page === kind ? ' aria-current="page"' : "");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · Stowaway</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/assets/theme.css">
<link rel="stylesheet" href="/assets/app.css">
<script type="module" src="/assets/app.js"></script>
</head>
<body data-page="${kind}" data-param="${escapeHtml(parameter)}">
<a class="skip-link" href="#main">Skip to content</a>
<header class="site"><span class="brand">Stowaway</span>
<nav aria-label="Main"><ul>
<li><a href="/"${current("overview")}>Overview</a></li>
<li><a href="/registries"${current("registries")}>Registries</a></li>
</ul></nav>
<form id="cve-search" class="cve-search" role="search" action="/cves/" method="get">
<label for="cve-query">Find a vulnerability</label>
<input id="cve-query" name="id" type="search" placeholder="CVE-2024-3094" autocomplete="off" required>
<button type="submit">Find</button></form>
</header>
<main id="main" tabindex="-1">
<p id="load-error" role="alert" hidden></p>
${body}
</main>
<dialog id="token-dialog" aria-labelledby="token-h">
<form id="token-form" method="dialog">
<h2 id="token-h">API token needed</h2>
<p>The data on this page needs a token with the read scope. It is kept in this tab only (sessionStorage).</p>
<label for="token-input">API token</label>
<input id="token-input" type="password" autocomplete="off" required>
<div class="dialog-buttons"><button type="submit" value="save">Use token</button></div>
</form>
</dialog>
</body>
</html>
`;
}
