/**
 * The dashboard in headless Chromium (playwright-core, Debian's chromium): every page renders from
 * the read-model endpoints, the numbers shown are the ones the endpoints return (fetched by the test
 * itself) and the demo's stated findings, filters work, the keyboard reaches filters and links with a
 * visible focus, colours meet WCAG AA, and hostile package text stays text under a strict CSP.
 */
import { existsSync, statSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { recordResult } from "../../src/inventory/record.js";
import { DASHBOARD_CSP } from "../../src/service/dashboard/index.js";
import { PALETTE } from "../../src/service/dashboard/palette.js";
import { recordClusterWorkloads } from "../../src/store/cluster.js";
import { openStore } from "../../src/store/index.js";
import type { InventoryStore } from "../../src/store/types.js";
import { HAS_REGISTRY } from "../helpers/registry-server.js";
import { tempDir } from "../helpers/temp-dir.js";
import {
  DEMO_COUNTS,
  demoWorld,
  ensureAssets,
  mountDashboard,
  type DemoWorld,
  type Mounted,
} from "./dashboard-fixture.js";

const CHROMIUM = "/usr/bin/chromium";
const HOSTILE = "</script><img src=x onerror=alert(1)>";
/** A running digest no registry scan stored. */
const NEVER_SCANNED = `sha256:${"d".repeat(64)}`;
const SCREENSHOT = fileURLToPath(new URL("../../../docs/dashboard-overview.png", import.meta.url));
const IMAGE_SCREENSHOT = fileURLToPath(new URL("../../../docs/dashboard-image.png", import.meta.url));

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** WCAG 2.x relative luminance and contrast ratio, from the definition (not from the code under test). */
function luminance(rgb: [number, number, number]): number {
  const [r, g, b] = rgb.map((value) => {
    const c = value / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  }) as [number, number, number];
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

function parseColor(color: string): [number, number, number] {
  const hex = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(color);
  if (hex) return [parseInt(hex[1]!, 16), parseInt(hex[2]!, 16), parseInt(hex[3]!, 16)];
  const rgb = /^rgba?\((\d+), (\d+), (\d+)(?:, ([\d.]+))?\)$/.exec(color);
  if (!rgb) throw new Error(`unparsed colour ${color}`);
  if (rgb[4] !== undefined && Number(rgb[4]) < 1) throw new Error(`translucent colour ${color}`);
  return [Number(rgb[1]), Number(rgb[2]), Number(rgb[3])];
}

function contrast(a: string, b: string): number {
  const [high, low] = [luminance(parseColor(a)), luminance(parseColor(b))].sort((x, y) => y - x) as [number, number];
  return (high + 0.05) / (low + 0.05);
}

describe("dashboard palette", () => {
  it("meets WCAG AA: text 4.5:1, chart lines and the focus ring 3:1 on the page", () => {
    const pairs = [
      PALETTE.page,
      PALETTE.muted,
      PALETTE.link,
      PALETTE.header,
      PALETTE.panel,
      { foreground: PALETTE.link.foreground, background: PALETTE.panel.background },
      { foreground: PALETTE.muted.foreground, background: PALETTE.panel.background },
      ...Object.values(PALETTE.severity),
      ...Object.values(PALETTE.verdict),
    ];
    for (const pair of pairs) {
      expect(contrast(pair.foreground, pair.background), JSON.stringify(pair)).toBeGreaterThanOrEqual(4.5);
    }
    for (const line of [...Object.values(PALETTE.chart), PALETTE.focus]) {
      expect(contrast(line, PALETTE.page.background), line).toBeGreaterThanOrEqual(3);
    }
    expect(contrast(PALETTE.header.foreground, PALETTE.header.background)).toBeGreaterThanOrEqual(3);
  });
});

const ready = HAS_REGISTRY && existsSync(CHROMIUM);
const describeInBrowser = ready ? describe : describe.skip;
const title = ready
  ? "dashboard in headless Chromium"
  : `dashboard in headless Chromium (skipped: needs ${CHROMIUM} and docker-registry; apt-get install -y chromium docker-registry)`;

describeInBrowser(title, () => {
  let browser: BrowserContext;
  let profile: string;
  let world: DemoWorld;
  let server: Mounted;
  let hostileStore: InventoryStore;
  let hostileServer: Mounted;
  let hostileDigest: string;
  let hostileCve: string;
  const problems: string[] = [];

  const api = async (pathname: string): Promise<Json> =>
    (await (await fetch(`${server.baseUrl}${pathname}`)).json()) as Json;

  async function open(url: string): Promise<Page> {
    const page = await browser.newPage();
    // Nothing but the dashboard's own origin is ever asked for (no CDN, fonts or telemetry).
    page.on("request", (request) => {
      if (new URL(request.url()).origin !== new URL(url).origin && !request.url().startsWith("data:")) {
        problems.push(`${url}: requested ${request.url()}`);
      }
    });
    page.on("console", (message) => {
      if (message.type() === "error") problems.push(`${url}: ${message.text()}`);
    });
    page.on("pageerror", (error) => problems.push(`${url}: ${error.message}`));
    page.on("dialog", (dialog) => {
      problems.push(`${url}: a dialog opened: ${dialog.message()}`);
      void dialog.dismiss();
    });
    await page.goto(url);
    await page.waitForSelector("body[data-ready]");
    return page;
  }

  const text = async (page: Page, selector: string) => ((await page.textContent(selector)) ?? "").trim();
  const visibleRows = (page: Page, table: string) => page.locator(`#${table} tbody tr:visible`).count();

  beforeAll(async () => {
    await ensureAssets();
    const dir = tempDir("stowaway-dashboard-");
    world = await demoWorld(dir);
    // One cluster inventory: the demo runs as tagged; the Alpine image runs under demo/app:latest, which
    // points at the demo now (drift); one digest was never scanned.
    const web = { cluster: "prod-eu", namespace: "shop", workload: "Deployment/web" };
    await recordClusterWorkloads(
      world.store,
      [
        { ...web, container: "web", image: `${world.host}/demo/app:1.0`, digest: world.demoDigest },
        { ...web, container: "sidecar", image: `${world.host}/demo/app:latest`, digest: world.alpineDigest },
        {
          cluster: "prod-eu",
          namespace: "batch",
          workload: "Job/report",
          container: "x",
          image: `${world.host}/tools/gone:1`,
          digest: NEVER_SCANNED,
        },
      ],
      new Date().toISOString(),
    );
    server = await mountDashboard({ store: world.store });

    // A second store holding the demo's result with hostile text where images and advisories put text,
    // behind a token as the service puts it.
    hostileStore = await openStore(path.join(dir, "hostile.sqlite"));
    const demo = (await world.store.getImage(world.demoDigest))!;
    const result = structuredClone(demo.result);
    hostileDigest = `sha256:${"e".repeat(64)}`;
    result.artifact.manifestDigest = hostileDigest;
    result.artifact.layers[0]!.createdBy = HOSTILE;
    result.packages[0]!.name = HOSTILE;
    const finding = result.findings![0]!;
    hostileCve = finding.id;
    finding.packageName = HOSTILE;
    finding.summary = HOSTILE;
    finding.match = { ...finding.match, name: HOSTILE, constraint: `<${HOSTILE}` };
    const now = new Date().toISOString();
    await hostileStore.startRun({ id: "scan-hostile", kind: "scan", target: "x", startedAt: now });
    await recordResult(hostileStore, "scan-hostile", hostileDigest, result, undefined, now);
    await hostileStore.finishRun("scan-hostile", now, {
      images: 1,
      failed: 0,
      newFindings: 35,
      fixedFindings: 0,
      newlyFixable: 0,
    });
    await recordClusterWorkloads(
      hostileStore,
      [
        {
          cluster: "c",
          namespace: "n",
          workload: `Deployment/${HOSTILE}`,
          container: HOSTILE,
          image: `r.example/${HOSTILE}`,
          digest: hostileDigest,
        },
      ],
      now,
    );
    hostileServer = await mountDashboard({ store: hostileStore }, "t0ken-for-the-test");

    profile = await mkdtemp(path.join(os.tmpdir(), "stowaway-dashboard-chromium-"));
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1200, height: 900 },
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await hostileServer?.close();
    await hostileStore?.close();
    await world?.stop();
    if (profile) await rm(profile, { recursive: true, force: true });
  });

  it("overview shows what /api/v1/overview returns: worst severities, new since yesterday, a two-run trend", async () => {
    const overview = await api("/api/v1/overview");
    const page = await open(`${server.baseUrl}/`);
    expect(await text(page, '#totals [data-stat="images"]')).toBe(String(overview.images));
    expect(await text(page, '#totals [data-stat="repositories"]')).toBe("3");
    expect(await text(page, '#totals [data-stat="registries"]')).toBe("1");
    for (const [severity, count] of Object.entries(overview.bySeverity)) {
      expect(await text(page, `#by-severity [data-count="${severity}"]`), severity).toBe(String(count));
    }
    expect(await text(page, '#by-severity [data-count="critical"]')).toBe("1");
    const total = DEMO_COUNTS.critical + DEMO_COUNTS.high + DEMO_COUNTS.medium + DEMO_COUNTS.low;
    expect(await text(page, '#new-since [data-stat="new-findings"]')).toBe(String(total));
    expect(await text(page, '#new-since [data-stat="new-images"]')).toBe("2");
    // Running in clusters: the demo (findings, denied by the minimal policy), Alpine drifted, one never scanned.
    expect(overview.running).toEqual({
      clusters: 1,
      containers: 3,
      images: 3,
      exposed: 1,
      drift: 1,
      neverScanned: 1,
      denied: 1,
    });
    const running = { containers: 3, "running-images": 3, exposed: 1, drift: 1, "never-scanned": 1, denied: 1 };
    for (const [key, count] of Object.entries(running)) {
      expect(await text(page, `#running [data-stat="${key}"]`), key).toBe(String(count));
    }
    expect(await text(page, "#running-note")).toMatch(/^From the latest recorded cluster inventory of 1 cluster;/);
    // The trend: a drawn chart with a legend naming each line, and the same numbers as a table.
    expect(await page.locator("#trend-chart canvas").count()).toBe(1);
    const legend = await page.locator("#trend-chart .u-legend .u-label").allTextContents();
    expect(legend).toEqual(expect.arrayContaining(["critical", "high", "medium", "low"]));
    const rows = page.locator("#trend-table tbody tr");
    expect(await rows.count()).toBe(2);
    for (let index = 0; index < 2; index += 1) {
      for (const [severity, count] of Object.entries(DEMO_COUNTS)) {
        expect(await rows.nth(index).locator(`[data-count="${severity}"]`).textContent()).toBe(String(count));
        expect(overview.trend[index][severity]).toBe(count);
      }
    }
    // The images table: the demo first with its counts and verdict in words.
    const demoRow = page.locator(`#images tr[data-digest="${world.demoDigest}"]`);
    for (const [severity, count] of Object.entries(DEMO_COUNTS)) {
      expect(await demoRow.locator(`[data-count="${severity}"]`).textContent()).toBe(String(count));
    }
    expect(await demoRow.locator("[data-verdict]").textContent()).toBe("✗ FAIL");
    expect(await demoRow.locator("[data-severity]").textContent()).toBe("critical");
    // What the browser actually paints meets AA too (text 4.5:1 on its effective background).
    const painted = await page.evaluate(() => {
      const selectors = [
        "main h1",
        "#last-run",
        "#images tbody a",
        "header.site .brand",
        "header.site nav a",
        "thead th",
        ".stat dd",
        ...["critical", "high", "medium", "low", "negligible", "unknown", "none"].map((s) => `.badge.sev-${s}`),
        ".badge.verdict-fail",
        ".badge.verdict-pass",
      ];
      const background = (element: Element | null): string => {
        for (let node = element; node; node = node.parentElement) {
          const color = window.getComputedStyle(node).backgroundColor;
          if (color !== "rgba(0, 0, 0, 0)" && color !== "transparent") return color;
        }
        return "rgb(255, 255, 255)";
      };
      return selectors.map((selector) => {
        const element = document.querySelector(selector);
        if (!element) return { selector, color: "missing", background: "missing" };
        return { selector, color: window.getComputedStyle(element).color, background: background(element) };
      });
    });
    for (const { selector, color, background } of painted) {
      expect(color, selector).not.toBe("missing");
      expect(contrast(color, background), `${selector}: ${color} on ${background}`).toBeGreaterThanOrEqual(4.5);
    }
    if (process.env.STOWAWAY_UPDATE_SCREENSHOTS === "1") {
      await page.screenshot({ path: SCREENSHOT });
      expect(statSync(SCREENSHOT).size).toBeLessThan(150 * 1024);
    }
    await page.close();
    expect(problems).toEqual([]);
  });

  it("image filters on the overview query the API and keep the URL", async () => {
    const page = await open(`${server.baseUrl}/`);
    expect(await visibleRows(page, "images")).toBe(2);
    await page.selectOption("#filter-severity", "critical");
    await page.waitForFunction(() => document.querySelectorAll("#images tbody tr").length === 1);
    expect(await page.locator("#images tbody tr").getAttribute("data-digest")).toBe(world.demoDigest);
    expect(new URL(page.url()).search).toBe("?severity=critical");
    await page.selectOption("#filter-severity", "high");
    await page.waitForSelector('#images-status:has-text("No images match.")');
    await page.selectOption("#filter-severity", "");
    await page.fill("#filter-repository", "tools/base");
    await page.press("#filter-repository", "Enter");
    await page.waitForFunction((digest) => {
      const rows = document.querySelectorAll("#images tbody tr");
      return rows.length === 1 && rows[0]!.getAttribute("data-digest") === digest;
    }, world.alpineDigest);
    const filtered = await api("/api/v1/images?repository=tools/base");
    expect(await text(page, "#images-status")).toBe(`Showing 1–1 of ${filtered.total} images.`);
    // A severity bucket is a link to the same filter.
    await page.goto(`${server.baseUrl}/`);
    await page.waitForSelector("body[data-ready]");
    await page.click('#by-severity a:has([data-count="none"])');
    await page.waitForSelector("body[data-ready]");
    expect(await page.inputValue("#filter-severity")).toBe("none");
    expect(await page.locator("#images tbody tr").getAttribute("data-digest")).toBe(world.alpineDigest);
    await page.close();
    expect(problems).toEqual([]);
  });

  it("the keyboard reaches the navigation, the filters and the image links, with a visible focus ring", async () => {
    const page = await open(`${server.baseUrl}/`);
    const reached: string[] = [];
    for (let index = 0; index < 30; index += 1) {
      await page.keyboard.press("Tab");
      const focused = await page.evaluate(() => {
        const element = document.activeElement as HTMLElement | null;
        if (!element || element === document.body) return null;
        const style = window.getComputedStyle(element);
        return {
          key: element.id || element.getAttribute("href") || element.tagName,
          outline: `${style.outlineStyle} ${style.outlineWidth}`,
        };
      });
      if (!focused) continue;
      reached.push(focused.key);
      expect(focused.outline, focused.key).toMatch(/^(solid|auto) [3-9]px$/);
    }
    expect(reached[0]).toBe("#main"); // the skip link comes first
    for (const wanted of ["/", "/registries", "cve-query", "filter-severity", "filter-repository", "filter-q"]) {
      expect(reached, wanted).toContain(wanted);
    }
    expect(reached).toContain(`/images/${encodeURIComponent(world.demoDigest)}`);
    expect(reached.indexOf("filter-severity")).toBeLessThan(
      reached.indexOf(`/images/${encodeURIComponent(world.demoDigest)}`),
    );
    // Enter on the focused image link opens the image page.
    await page.focus(`#images a[href="/images/${encodeURIComponent(world.demoDigest)}"]`);
    await page.keyboard.press("Enter");
    await page.waitForURL(/\/images\//);
    await page.waitForSelector("body[data-ready]");
    expect(await text(page, "#image-digest")).toBe(world.demoDigest);
    await page.close();
    expect(problems).toEqual([]);
  });

  it("image page: counts, verdict, layers, packages and findings with why each matched, filtered", async () => {
    const summary = await api(`/api/v1/images/${world.demoDigest}/summary`);
    const page = await open(`${server.baseUrl}/images/${world.demoDigest}`);
    for (const [severity, count] of Object.entries(DEMO_COUNTS)) {
      expect(await text(page, `#image-counts [data-count="${severity}"]`)).toBe(String(count));
    }
    expect(await text(page, "#verdict")).toBe("✗ FAIL");
    expect(await page.locator("#violations li").count()).toBe(summary.verdict.violations.length);
    expect(await visibleRows(page, "findings")).toBe(35);
    expect(await page.locator("#layers tbody tr").count()).toBe(summary.layers.length);
    expect(await visibleRows(page, "packages")).toBe(summary.packages.length);
    expect(await page.locator("#sightings tbody tr").count()).toBe(3);
    if (process.env.STOWAWAY_UPDATE_SCREENSHOTS === "1") {
      await page.screenshot({ path: IMAGE_SCREENSHOT, clip: { x: 0, y: 0, width: 1200, height: 720 } });
      expect(statSync(IMAGE_SCREENSHOT).size).toBeLessThan(150 * 1024);
    }
    // The keyboard reaches the findings filters, the first finding's link and the package filter in order.
    const reached: string[] = [];
    for (let index = 0; index < 20; index += 1) {
      await page.keyboard.press("Tab");
      reached.push(
        await page.evaluate(() => document.activeElement?.id || document.activeElement?.getAttribute("href") || ""),
      );
    }
    const order = ["finding-severity", "finding-text", "finding-fixable", `/cves/${summary.findings[0].id}`];
    expect(order.map((key) => reached.indexOf(key))).toEqual(
      [...order.map((key) => reached.indexOf(key))].sort((a, b) => a - b),
    );
    for (const key of order) expect(reached, key).toContain(key);
    const urllib3 = page.locator('#findings tr:has(a[href="/cves/CVE-2023-45803"])');
    const expected = summary.findings.find((finding: Json) => finding.id === "CVE-2023-45803");
    expect(await urllib3.locator("td.why").textContent()).toBe(expected.why);

    await page.selectOption("#finding-severity", "critical");
    expect(await visibleRows(page, "findings")).toBe(DEMO_COUNTS.critical);
    expect(await text(page, "#findings-status")).toBe(`Showing ${DEMO_COUNTS.critical} of 35 findings.`);
    await page.selectOption("#finding-severity", "");
    await page.check("#finding-fixable");
    const fixable = summary.findings.filter((finding: Json) => finding.fixedVersion).length;
    expect(await visibleRows(page, "findings")).toBe(fixable);
    await page.uncheck("#finding-fixable");
    await page.fill("#finding-text", "urllib3");
    const urllib3Count = summary.findings.filter((finding: Json) => finding.packageName === "urllib3").length;
    expect(urllib3Count).toBeGreaterThan(0);
    expect(await visibleRows(page, "findings")).toBe(urllib3Count);
    await page.fill("#package-text", "django");
    const djangoPackages = summary.packages.filter((pkg: Json) => pkg.name.toLowerCase().includes("django")).length;
    expect(await visibleRows(page, "packages")).toBe(djangoPackages);

    // From a finding to its CVE page.
    await page.click('#findings a[href="/cves/CVE-2023-45803"]');
    await page.waitForURL(/\/cves\/CVE-2023-45803$/);
    await page.waitForSelector("body[data-ready]");
    const cve = await api("/api/v1/cves/CVE-2023-45803");
    for (const [key, value] of Object.entries(cve.counts)) {
      expect(await text(page, `#cve-counts [data-stat="${key}"]`), key).toBe(String(value));
    }
    expect(cve.counts).toEqual({ images: 1, repositories: 2, tags: 3, registries: 1 });
    expect(await text(page, "#cve-severity [data-severity]")).toBe("medium");
    expect(await page.locator("#cve-images tbody tr").count()).toBe(1);
    await page.close();
    expect(problems).toEqual([]);
  });

  it("CVE search in the header and the registries page", async () => {
    const page = await open(`${server.baseUrl}/registries`);
    const registries = await api("/api/v1/registries/summary");
    const row = page.locator(`tr.registry[data-registry="${world.host}"]`);
    expect(await row.locator('[data-count="repositories"]').textContent()).toBe(
      String(registries.items[0].repositories),
    );
    expect(await row.locator('[data-count="images"]').textContent()).toBe("2");
    expect(await page.locator("tr.repository").count()).toBe(3);
    expect(await text(page, `tr[data-repository="${world.host}/demo/app"] [data-count="tags"]`)).toBe("2");
    await page.fill("#cve-query", "CVE-2024-27351");
    await page.press("#cve-query", "Enter");
    await page.waitForURL(/\/cves\/CVE-2024-27351$/);
    await page.waitForSelector("body[data-ready]");
    expect(await text(page, "#cve-severity [data-severity]")).toBe("low");
    expect(await text(page, '#cve-counts [data-stat="tags"]')).toBe("3");
    // Which running workloads are exposed: the demo's one container, not the Alpine sidecar.
    const cve = await api("/api/v1/cves/CVE-2024-27351");
    expect(cve.running).toEqual({
      clusters: 1,
      workloads: [
        {
          cluster: "prod-eu",
          namespace: "shop",
          workload: "Deployment/web",
          container: "web",
          image: `${world.host}/demo/app:1.0`,
          digest: world.demoDigest,
        },
      ],
    });
    expect(await text(page, "#cve-running-status")).toBe("1 running container has it.");
    const workloadRows = page.locator("#cve-workloads tbody tr");
    expect(await workloadRows.count()).toBe(1);
    expect((await workloadRows.first().locator("td").allTextContents()).map((cell) => cell.trim())).toEqual([
      "prod-eu",
      "shop",
      "Deployment/web",
      "web",
      `${world.host}/demo/app:1.0`,
    ]);
    expect(await workloadRows.first().locator("a").getAttribute("href")).toBe(
      `/images/${encodeURIComponent(world.demoDigest)}`,
    );
    await page.close();
    expect(problems).toEqual([]);
    // An image that is not stored: the page says so (the API's 404 detail) instead of an empty skeleton
    // (a page of its own: Chromium logs the 404 of the data call as a console error).
    const unknown = `sha256:${"0".repeat(64)}`;
    const missing = await browser.newPage();
    await missing.goto(`${server.baseUrl}/images/${unknown}`);
    await missing.waitForSelector("body[data-ready]");
    expect(await text(missing, "#load-error")).toBe(`Could not load this page: no stored image has digest ${unknown}`);
    expect(await missing.locator("main > section:visible").count()).toBe(0);
    await missing.close();
  });

  it("hostile text from an image stays text: no markup, no script, under a strict CSP; the token is asked for", async () => {
    const response = await fetch(`${hostileServer.baseUrl}/images/${hostileDigest}`);
    expect(response.headers.get("content-security-policy")).toBe(DASHBOARD_CSP);
    expect(DASHBOARD_CSP).toContain("script-src 'self'");
    expect(DASHBOARD_CSP).not.toContain("unsafe-inline");
    // A hostile path parameter is escaped in the shell.
    const shell = await (await fetch(`${hostileServer.baseUrl}/cves/${encodeURIComponent(HOSTILE)}`)).text();
    expect(shell).not.toContain("<img src=x");
    expect(shell).toContain("&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;");

    const page = await browser.newPage();
    const dialogs: string[] = [];
    page.on("dialog", (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    await page.goto(`${hostileServer.baseUrl}/images/${hostileDigest}`);
    // 401 from the data call: the token dialog opens; the token goes into this tab's sessionStorage.
    await page.waitForSelector("#token-dialog[open]");
    await page.fill("#token-input", "t0ken-for-the-test");
    await page.press("#token-input", "Enter");
    await page.waitForSelector("body[data-ready]");
    expect(await page.evaluate(() => sessionStorage.getItem("stowaway-api-token"))).toBe("t0ken-for-the-test");
    expect(await page.locator("#findings tbody tr").count()).toBe(35);
    expect(await page.locator("img").count()).toBe(0);
    const hostileCells = await page.locator("td.package").allTextContents();
    expect(hostileCells.filter((cell) => cell === HOSTILE)).toHaveLength(2); // one finding, one package
    expect(await page.locator("td.created-by").first().textContent()).toBe(HOSTILE);
    expect((await page.locator("td.why").allTextContents()).some((why) => why.includes(HOSTILE))).toBe(true);
    expect(dialogs).toEqual([]);
    // The workload running it, named with hostile text, is text on the CVE page.
    await page.goto(`${hostileServer.baseUrl}/cves/${encodeURIComponent(hostileCve)}`);
    await page.waitForSelector("body[data-ready]");
    expect(await text(page, "#cve-workloads td.workload")).toBe(`Deployment/${HOSTILE}`);
    expect(await page.locator("img").count()).toBe(0);
    // The CVE page with the hostile id: the API refuses it and the page says so as text.
    await page.goto(`${hostileServer.baseUrl}/cves/${encodeURIComponent(HOSTILE)}`);
    await page.waitForSelector("body[data-ready]");
    expect(await text(page, "#cve-id")).toBe(HOSTILE);
    expect(await text(page, "#load-error")).toMatch(/vulnerability id/);
    expect(await page.locator("img").count()).toBe(0);
    expect(dialogs).toEqual([]);
    await page.close();
  });
});
