/* global document, window, sessionStorage, fetch, HTMLElement, ResizeObserver, URLSearchParams */
/*
 * The dashboard's client: fills the server-rendered shell from the read-model endpoints
 * (docs/dashboard.md). Every value from the store reaches the page as a DOM text node or an
 * attribute set through the DOM, never as markup (no innerHTML anywhere), so a package named
 * `</script><img src=x onerror=alert(1)>` is shown as exactly that text.
 */
import uPlot from "uplot";

const TOKEN_KEY = "stowaway-api-token";
const PAGE_SIZE = 50;
const TREND_TABLE_ROWS = 20;

// ---------------------------------------------------------------------------------------------
// DOM helpers: text only.

/** `el("a", { href: "/x", class: "c" }, "text", child)`; strings become text nodes. */
function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof HTMLElement ? child : document.createTextNode(String(child)));
  }
  return node;
}

function byId(id) {
  return document.getElementById(id);
}

function clear(node) {
  node.replaceChildren();
  return node;
}

function cell(...children) {
  return el("td", {}, ...children);
}

/** The severity as a word on a coloured badge: the colour only repeats what the word says. */
function badge(severity) {
  return el("span", { class: `badge sev-${severity}`, "data-severity": severity }, severity);
}

function verdictBadge(outcome) {
  if (!outcome) return el("span", { class: "muted" }, "no policy");
  const mark = outcome === "pass" ? "✓" : outcome === "warn" ? "!" : "✗";
  return el("span", { class: `badge verdict-${outcome}`, "data-verdict": outcome }, `${mark} ${outcome.toUpperCase()}`);
}

const imageHref = (digest) => `/images/${encodeURIComponent(digest)}`;
const cveHref = (id) => `/cves/${encodeURIComponent(id)}`;
const shortDigest = (digest) => (digest.length > 19 ? `${digest.slice(0, 19)}…` : digest);
const when = (iso) => (iso ? iso.replace("T", " ").replace(/\.\d+Z$/, "Z") : "");

function bytes(size) {
  if (size < 1024) return `${size} B`;
  if (size < 1024 * 1024) return `${(size / 1024).toFixed(1)} KiB`;
  return `${(size / 1024 / 1024).toFixed(1)} MiB`;
}

function stats(dl, pairs) {
  clear(dl);
  for (const [label, value, key] of pairs) {
    dl.append(el("div", { class: "stat" }, el("dt", {}, label), el("dd", { "data-stat": key }, String(value))));
  }
}

function showError(message) {
  const box = byId("load-error");
  box.textContent = `Could not load this page: ${message}`;
  box.hidden = false;
}

/** A page whose data did not load shows the reason, not an empty skeleton. */
function hideSkeleton() {
  for (const section of document.querySelectorAll("main > section")) section.hidden = true;
}

// ---------------------------------------------------------------------------------------------
// Data calls: the token is asked for when a call answers 401 and kept for this tab only.

function askToken() {
  const dialog = byId("token-dialog");
  const input = byId("token-input");
  input.value = "";
  dialog.returnValue = "";
  return new Promise((resolve) => {
    dialog.addEventListener(
      "close",
      () => {
        // Escape closes the dialog without "save": nothing typed is kept then.
        const token = dialog.returnValue === "save" ? input.value.trim() : "";
        if (token) sessionStorage.setItem(TOKEN_KEY, token);
        resolve(Boolean(token));
      },
      { once: true },
    );
    dialog.showModal();
  });
}

async function api(path) {
  for (let attempt = 0; attempt < 3; attempt += 1) {
    const token = sessionStorage.getItem(TOKEN_KEY);
    const response = await fetch(path, {
      headers: { Accept: "application/json", ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    });
    if (response.status === 401) {
      sessionStorage.removeItem(TOKEN_KEY);
      if (await askToken()) continue;
      throw new Error("An API token with the read scope is needed to show this page.");
    }
    if (!response.ok) {
      let detail = `HTTP ${response.status}`;
      try {
        const problem = await response.json();
        detail = problem.detail || problem.title || detail;
      } catch {
        // not a problem document: keep the status line
      }
      throw new Error(detail);
    }
    return response.json();
  }
  throw new Error("The API token was refused.");
}

// ---------------------------------------------------------------------------------------------
// Overview

function severityBuckets(list, counts, linkFor) {
  clear(list);
  for (const key of Object.keys(counts)) {
    const count = counts[key];
    const content = [badge(key), el("span", { class: "count", "data-count": key }, String(count))];
    list.append(el("li", {}, linkFor && count > 0 ? el("a", { href: linkFor(key) }, ...content) : content));
  }
}

const DASHES = { critical: [], high: [10, 5], medium: [4, 4], low: [2, 4], unknown: [12, 4, 2, 4] };

function trendChart(trend) {
  const box = clear(byId("trend-chart"));
  const body = clear(byId("trend-table").tBodies[0]);
  // The table lists the latest runs; the chart draws them all.
  const shown = trend.slice(-TREND_TABLE_ROWS);
  byId("trend-table").caption.textContent =
    shown.length < trend.length
      ? `Findings by severity after each of the last ${shown.length} of ${trend.length} runs`
      : "Findings by severity after each run";
  for (const point of shown) {
    body.append(
      el(
        "tr",
        { "data-run": point.runId },
        cell(`${point.kind} ${point.runId}`),
        cell(when(point.at)),
        ...["critical", "high", "medium", "low", "unknown"].map((key) => el("td", { "data-count": key }, point[key])),
      ),
    );
  }
  if (trend.length === 0) {
    box.append(el("p", { class: "muted" }, "No finished runs yet."));
    return;
  }
  const styles = window.getComputedStyle(document.documentElement);
  const xs = trend.map((point, index) => index + 1);
  const keys = ["critical", "high", "medium", "low", "unknown"];
  const data = [xs, ...keys.map((key) => trend.map((point) => point[key]))];
  const width = Math.max(320, Math.min(box.clientWidth || 720, 960));
  const chart = new uPlot(
    {
      width,
      height: 260,
      scales: { x: { time: false } },
      axes: [
        { label: "Run", values: (_u, ticks) => ticks.map((tick) => (Number.isInteger(tick) ? `#${tick}` : "")) },
        { label: "Findings" },
      ],
      series: [
        { label: "Run" },
        ...keys.map((key) => ({
          label: key,
          stroke: styles.getPropertyValue(`--chart-${key}`).trim() || "#000",
          width: 2,
          dash: DASHES[key],
          points: { show: true, size: 7 },
        })),
      ],
    },
    data,
    box,
  );
  if (typeof ResizeObserver === "function") {
    new ResizeObserver(() => {
      const next = Math.max(320, Math.min(box.clientWidth || width, 960));
      if (next !== chart.width) chart.setSize({ width: next, height: 260 });
    }).observe(box);
  }
}

function readImageFilters() {
  const params = new URLSearchParams(window.location.search);
  byId("filter-severity").value = params.get("severity") ?? "";
  byId("filter-repository").value = params.get("repository") ?? "";
  byId("filter-q").value = params.get("q") ?? "";
  return Number(params.get("offset") ?? 0) || 0;
}

async function loadImages(offset) {
  const params = new URLSearchParams();
  for (const [key, id] of [
    ["severity", "filter-severity"],
    ["repository", "filter-repository"],
    ["q", "filter-q"],
  ]) {
    const value = byId(id).value.trim();
    if (value) params.set(key, value);
  }
  if (offset) params.set("offset", String(offset));
  window.history.replaceState(null, "", params.toString() ? `/?${params}` : "/");
  params.set("limit", String(PAGE_SIZE));
  const page = await api(`/api/v1/images?${params}`);
  const body = clear(byId("images").tBodies[0]);
  for (const item of page.items) {
    body.append(
      el(
        "tr",
        { "data-digest": item.digest },
        el(
          "td",
          { class: "ref" },
          el("a", { href: imageHref(item.digest), title: item.digest }, item.reference || shortDigest(item.digest)),
        ),
        el(
          "td",
          { class: "tags" },
          item.tags.length ? item.tags.join(", ") : el("span", { class: "muted" }, "untagged"),
        ),
        cell(badge(item.worstSeverity)),
        ...["critical", "high", "medium", "low"].map((key) => el("td", { "data-count": key }, item.counts[key])),
        cell(verdictBadge(item.verdict)),
      ),
    );
  }
  const last = Math.min(page.offset + page.items.length, page.total);
  byId("images-status").textContent =
    page.total === 0 ? "No images match." : `Showing ${page.offset + 1}–${last} of ${page.total} images.`;
  byId("images-status").dataset.total = String(page.total);
  const prev = byId("prev-page");
  const next = byId("next-page");
  prev.disabled = page.offset === 0;
  next.disabled = last >= page.total;
  prev.onclick = () => loadImages(Math.max(0, page.offset - PAGE_SIZE)).catch((error) => showError(error.message));
  next.onclick = () => loadImages(page.offset + PAGE_SIZE).catch((error) => showError(error.message));
}

async function overviewPage() {
  const overview = await api("/api/v1/overview");
  stats(byId("totals"), [
    ["Images", overview.images, "images"],
    ["Repositories", overview.repositories, "repositories"],
    ["Registries", overview.registries, "registries"],
    ["Not yet matched", overview.unchecked, "unchecked"],
  ]);
  severityBuckets(byId("by-severity"), overview.bySeverity, (key) => `/?severity=${key}`);
  stats(byId("new-since"), [
    ["New findings", overview.newSinceYesterday.findings, "new-findings"],
    ["New images", overview.newSinceYesterday.images, "new-images"],
  ]);
  const running = overview.running;
  stats(byId("running"), [
    ["Containers", running.containers, "containers"],
    ["Images running", running.images, "running-images"],
    ["With findings", running.exposed, "exposed"],
    ["Drifted from tag", running.drift, "drift"],
    ["Never scanned", running.neverScanned, "never-scanned"],
    ["Denied by policy", running.denied, "denied"],
  ]);
  byId("running-note").textContent = running.clusters
    ? `From the latest recorded cluster inventory of ${running.clusters} cluster${running.clusters === 1 ? "" : "s"}; search a vulnerability for the workloads that run it.`
    : "No cluster inventory recorded yet (stowaway cluster inventory).";
  const run = overview.lastRun;
  byId("last-run").textContent = run
    ? `Last run: ${run.kind} ${run.target || "(all stored images)"}, finished ${when(run.finishedAt)}` +
      (run.summary
        ? `; ${run.summary.images} images, ${run.summary.newFindings} new, ${run.summary.fixedFindings} fixed.`
        : ".")
    : "No run has finished yet.";
  trendChart(overview.trend);

  const offset = readImageFilters();
  const reload = () => loadImages(0).catch((error) => showError(error.message));
  byId("image-filters").addEventListener("submit", (event) => {
    event.preventDefault();
    reload();
  });
  byId("filter-severity").addEventListener("change", reload);
  await loadImages(offset);
}

// ---------------------------------------------------------------------------------------------
// Image page

function applyFindingFilters() {
  const severity = byId("finding-severity").value;
  const text = byId("finding-text").value.trim().toLowerCase();
  const fixable = byId("finding-fixable").checked;
  let shown = 0;
  const rows = [...byId("findings").tBodies[0].rows];
  for (const row of rows) {
    const visible =
      (!severity || row.dataset.severity === severity) &&
      (!fixable || row.dataset.fixable === "yes") &&
      (!text || row.dataset.search.includes(text));
    row.hidden = !visible;
    if (visible) shown += 1;
  }
  const status = byId("findings-status");
  status.textContent = `Showing ${shown} of ${rows.length} findings.`;
  status.dataset.shown = String(shown);
}

function applyPackageFilter() {
  const text = byId("package-text").value.trim().toLowerCase();
  let shown = 0;
  const rows = [...byId("packages").tBodies[0].rows];
  for (const row of rows) {
    row.hidden = Boolean(text) && !row.dataset.search.includes(text);
    if (!row.hidden) shown += 1;
  }
  byId("packages-status").textContent = `Showing ${shown} of ${rows.length} packages.`;
}

async function imagePage(digest) {
  const image = await api(`/api/v1/images/${encodeURIComponent(digest)}/summary`);
  document.title = `${image.reference || digest} · Stowaway`;
  byId("image-meta").textContent =
    `${image.reference} · ${image.platform} · ${image.os.prettyName || image.os.family} · ` +
    `first scanned ${when(image.firstScanned)} · last matched ${when(image.lastMatched)}`;

  const verdict = clear(byId("verdict"));
  verdict.append(verdictBadge(image.verdict?.outcome));
  const violations = clear(byId("violations"));
  for (const violation of image.verdict?.violations ?? []) {
    violations.append(el("li", {}, el("strong", {}, violation.rule), ": ", violation.message));
  }
  severityBuckets(byId("image-counts"), image.counts);

  const findings = clear(byId("findings").tBodies[0]);
  for (const finding of image.findings) {
    const search = [finding.id, ...finding.aliases, finding.packageName].join(" ").toLowerCase();
    findings.append(
      el(
        "tr",
        {
          "data-severity": finding.severity,
          "data-fixable": finding.fixedVersion ? "yes" : "no",
          "data-search": search,
          "data-finding": finding.findingId,
        },
        el(
          "td",
          { class: "vuln" },
          el("a", { href: cveHref(finding.id) }, finding.id),
          finding.kev ? el("span", { class: "tag" }, " known exploited") : null,
          finding.suppressed ? el("span", { class: "tag" }, ` suppressed (${finding.suppressed.source})`) : null,
        ),
        cell(badge(finding.severity), el("span", { class: "muted small" }, ` via ${finding.severitySource}`)),
        el("td", { class: "package" }, finding.packageName),
        cell(finding.installedVersion),
        cell(finding.fixedVersion ?? el("span", { class: "muted" }, `no fix (${finding.status})`)),
        cell(String(finding.layerIndex)),
        el("td", { class: "why" }, finding.why),
      ),
    );
  }
  for (const id of ["finding-severity", "finding-fixable"]) byId(id).addEventListener("change", applyFindingFilters);
  byId("finding-text").addEventListener("input", applyFindingFilters);
  byId("finding-filters").addEventListener("submit", (event) => event.preventDefault());
  applyFindingFilters();

  const layers = clear(byId("layers").tBodies[0]);
  for (const layer of image.layers) {
    layers.append(
      el(
        "tr",
        {},
        cell(String(layer.index)),
        el("td", { class: "created-by" }, layer.createdBy ?? el("span", { class: "muted" }, "(no history)")),
        cell(bytes(layer.size)),
        cell(String(layer.packages)),
        cell(String(layer.findings)),
      ),
    );
  }

  const packages = clear(byId("packages").tBodies[0]);
  for (const pkg of image.packages) {
    packages.append(
      el(
        "tr",
        { "data-search": `${pkg.name} ${pkg.purl}`.toLowerCase() },
        el("td", { class: "package" }, pkg.name),
        cell(pkg.version),
        cell(pkg.type),
        cell(String(pkg.layerIndex)),
      ),
    );
  }
  byId("package-text").addEventListener("input", applyPackageFilter);
  byId("package-filters").addEventListener("submit", (event) => event.preventDefault());
  applyPackageFilter();

  const sightings = clear(byId("sightings").tBodies[0]);
  for (const row of image.sightings) {
    sightings.append(
      el(
        "tr",
        {},
        cell(`${row.registry}/${row.repository}:${row.tag}`),
        cell(row.current ? "yes" : "no (tag moved)"),
        cell(when(row.firstSeen)),
        cell(when(row.lastSeen)),
      ),
    );
  }
}

// ---------------------------------------------------------------------------------------------
// CVE page

async function cvePage(id) {
  const cve = await api(`/api/v1/cves/${encodeURIComponent(id)}`);
  const severity = clear(byId("cve-severity"));
  if (cve.severity) severity.append("Worst rating in stored images: ", badge(cve.severity));
  else severity.append("No stored image has this vulnerability.");
  byId("cve-summary").textContent = cve.summary ?? "";
  byId("cve-aliases").textContent = cve.aliases.length ? `Also known as ${cve.aliases.join(", ")}` : "";
  stats(byId("cve-counts"), [
    ["Images", cve.counts.images, "images"],
    ["Repositories", cve.counts.repositories, "repositories"],
    ["Tags", cve.counts.tags, "tags"],
    ["Registries", cve.counts.registries, "registries"],
  ]);
  const body = clear(byId("cve-images").tBodies[0]);
  for (const image of cve.images) {
    for (const pkg of image.packages) {
      body.append(
        el(
          "tr",
          { "data-digest": image.digest },
          cell(el("a", { href: imageHref(image.digest), title: image.digest }, shortDigest(image.digest))),
          el(
            "td",
            { class: "tags" },
            image.tags.length ? image.tags.join(", ") : el("span", { class: "muted" }, "untagged"),
          ),
          el("td", { class: "package" }, pkg.name),
          cell(pkg.installedVersion),
          cell(pkg.fixedVersion ?? el("span", { class: "muted" }, "no fix")),
        ),
      );
    }
  }
  const workloads = clear(byId("cve-workloads").tBodies[0]);
  const status = byId("cve-running-status");
  if (!cve.running.clusters) status.textContent = "No cluster inventory recorded yet (stowaway cluster inventory).";
  else if (!cve.running.workloads.length) status.textContent = "No recorded running container has it.";
  else if (cve.running.workloads.length === 1) status.textContent = "1 running container has it.";
  else status.textContent = `${cve.running.workloads.length} running containers have it.`;
  byId("cve-workloads").hidden = cve.running.workloads.length === 0;
  // A node may report the index digest of a multi-arch tag: only stored digests have an image page.
  const stored = new Set(cve.images.map((image) => image.digest));
  for (const w of cve.running.workloads) {
    workloads.append(
      el(
        "tr",
        { "data-digest": w.digest },
        cell(w.cluster),
        cell(w.namespace),
        el("td", { class: "workload" }, w.workload),
        cell(w.container),
        cell(stored.has(w.digest) ? el("a", { href: imageHref(w.digest), title: w.digest }, w.image) : w.image),
      ),
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Registries page

async function registriesPage() {
  const summary = await api("/api/v1/registries/summary");
  const body = clear(byId("registries").tBodies[0]);
  if (summary.items.length === 0) {
    body.append(el("tr", {}, el("td", { colspan: "6" }, "No registry has been scanned yet.")));
  }
  for (const registry of summary.items) {
    body.append(
      el(
        "tr",
        { class: "registry", "data-registry": registry.registry },
        el("th", { scope: "row" }, registry.registry),
        el("td", { "data-count": "repositories" }, registry.repositories),
        cell(""),
        el("td", { "data-count": "images" }, registry.images),
        cell(badge(registry.worstSeverity)),
        cell(when(registry.lastSeen)),
      ),
    );
    for (const repo of registry.repositoryDetails) {
      const name = `${registry.registry}/${repo.repository}`;
      body.append(
        el(
          "tr",
          { class: "repository", "data-repository": name },
          el("td", { class: "indent" }, el("a", { href: `/?repository=${encodeURIComponent(name)}` }, repo.repository)),
          cell(""),
          el("td", { "data-count": "tags" }, repo.tags),
          el("td", { "data-count": "images" }, repo.images),
          cell(badge(repo.worstSeverity)),
          cell(when(repo.lastSeen)),
        ),
      );
    }
  }
}

// ---------------------------------------------------------------------------------------------

async function main() {
  byId("cve-search").addEventListener("submit", (event) => {
    event.preventDefault();
    const id = byId("cve-query").value.trim();
    if (id) window.location.assign(cveHref(id));
  });
  const { page, param } = document.body.dataset;
  document.body.setAttribute("aria-busy", "true");
  try {
    if (page === "overview") await overviewPage();
    else if (page === "image") await imagePage(param);
    else if (page === "cve") await cvePage(param);
    else if (page === "registries") await registriesPage();
  } catch (error) {
    showError(error instanceof Error ? error.message : String(error));
    hideSkeleton();
  } finally {
    document.body.removeAttribute("aria-busy");
    document.body.dataset.ready = "true";
  }
}

main();
