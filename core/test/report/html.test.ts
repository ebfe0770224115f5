import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { chromium, type BrowserContext } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderHtml } from "../../src/report/html.js";
import { describeWithShared } from "../helpers/shared.js";
import { judgedResult } from "./fixture.js";

const CHROMIUM = "/usr/bin/chromium";
const HOSTILE = `<img src=x onerror="alert(1)"> & "quotes" 'single'`;

describeWithShared("HTML report (static checks)", () => {
  it("is self-contained and escapes everything", () => {
    const result = judgedResult();
    result.findings!.find((item) => item.packageName === "formidable")!.summary = HOSTILE;
    result.findings!.find((item) => item.packageName === "stdlib")!.references = ["javascript:alert(1)"];
    const html = renderHtml(result);
    expect(html).not.toContain("<img");
    expect(html).toContain("&lt;img src=x onerror=&quot;alert(1)&quot;&gt; &amp; &quot;quotes&quot; &#39;single&#39;");
    expect(html).not.toContain('href="javascript:');
    // nothing is fetched: no src attributes, no stylesheet links, and a CSP that forbids loading
    expect(html).not.toMatch(/<[a-zA-Z][^>]*\ssrc=|<link\b|@import|url\(/);
    expect(html).toContain("default-src &#39;none&#39;");
  });
});

const describeWithChromium = existsSync(CHROMIUM) ? describeWithShared : describe.skip;
const title = existsSync(CHROMIUM)
  ? "HTML report in headless Chromium"
  : `HTML report in headless Chromium (skipped: ${CHROMIUM} is absent; apt-get install -y chromium)`;

describeWithChromium(title, () => {
  let browser: BrowserContext;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "stowaway-html-"));
    // A fresh profile per run (--user-data-dir), which Playwright takes as the persistent-context directory.
    browser = await chromium.launchPersistentContext(path.join(dir, "profile"), {
      executablePath: CHROMIUM,
      headless: true,
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
  });

  afterAll(async () => {
    await browser?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("renders the counts, runs its script under its own CSP, and the filters hide rows", async () => {
    const file = path.join(dir, "report.html");
    await writeFile(file, renderHtml(judgedResult()));
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on("console", (message) => {
      if (message.type() === "error") problems.push(message.text());
    });
    page.on("pageerror", (error) => problems.push(error.message));
    const requests: string[] = [];
    page.on("request", (request) => requests.push(request.url()));
    await page.goto(pathToFileURL(file).href);

    expect(await page.textContent('#counts [data-count="high"]')).toBe("1");
    expect(await page.textContent('#counts [data-count="negligible"]')).toBe("2");
    expect(await page.textContent('#counts [data-count="suppressed"]')).toBe("2");
    expect(await page.textContent('#counts [data-count="total"]')).toBe("6");
    expect(await page.textContent("#policy-outcome")).toBe("Policy: FAIL");
    expect(await page.locator("#suppressed tbody tr").count()).toBe(2);

    const visible = () => page.locator("#findings tbody tr:visible").count();
    expect(await visible()).toBe(6);
    await page.selectOption("#filter-severity", "negligible");
    expect(await visible()).toBe(2);
    expect(await page.textContent("#shown-count")).toBe("2");
    await page.selectOption("#filter-severity", "");
    await page.check("#filter-fixable");
    expect(await visible()).toBe(4);
    await page.uncheck("#filter-fixable");
    await page.fill("#filter-package", "golang.org");
    expect(await visible()).toBe(2);

    expect(problems).toEqual([]);
    expect(requests).toEqual([pathToFileURL(file).href]);
    await page.close();
  });
});
