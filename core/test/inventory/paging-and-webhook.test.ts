import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postWebhook, summariseChanges, webhookPayload } from "../../src/inventory/notify.js";
import { RegistryClient } from "../../src/image/registry/client.js";
import type { FindingChange } from "../../src/store/types.js";
import { startHttpServer, type TestHttpServer } from "../helpers/registry-server.js";

// distribution 2.8 answers tags/list whole; registries that page it (distribution 3, Harbor, ECR) send
// Link headers like this stand-in, which serves `n` tags per page after `last`.
describe("tags/list paging by Link, as paging registries do", () => {
  const TAGS = ["1.0", "1.1", "1.2", "2.0", "latest"];
  let server: TestHttpServer;
  beforeAll(async () => {
    server = await startHttpServer((req, res) => {
      const url = new URL(req.url ?? "/", "http://x");
      if (url.pathname === "/v2/") {
        res.writeHead(200).end("{}");
        return;
      }
      const n = Number(url.searchParams.get("n") ?? "100");
      const last = url.searchParams.get("last");
      const start = last ? TAGS.indexOf(last) + 1 : 0;
      const page = TAGS.slice(start, start + n);
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (start + n < TAGS.length) {
        headers["link"] =
          `</v2/team/app/tags/list?n=${n}&last=${encodeURIComponent(page[page.length - 1]!)}>; rel="next"`;
      }
      res.writeHead(200, headers).end(JSON.stringify({ name: "team/app", tags: page }));
    });
  });
  afterAll(async () => {
    await server?.close();
  });

  it("follows every page with the asked page size", async () => {
    const client = new RegistryClient(server.host, { pageSize: 2, retry: { sleep: async () => undefined } });
    try {
      expect(await client.listTags("team/app")).toEqual(TAGS);
    } finally {
      client.close();
    }
    const pages = server.requests.filter((request) => request.url.includes("tags/list")).map((request) => request.url);
    expect(pages).toEqual([
      "/v2/team/app/tags/list?n=2",
      "/v2/team/app/tags/list?n=2&last=1.1",
      "/v2/team/app/tags/list?n=2&last=2.0",
    ]);
  });
});

describe("--notify-webhook payloads", () => {
  const change = (id: string, severity: string, digest: string): FindingChange => ({
    runId: "rescan-1",
    digest,
    kind: "new",
    findingId: `pkg/${id}`,
    vulnerabilityId: id,
    severity,
    packageName: "openssl",
    installedVersion: "3.1.4-r0",
    fixedVersion: "3.1.4-r2",
  });
  let hook: TestHttpServer;
  let bodies: string[];
  let status = 200;
  beforeAll(async () => {
    bodies = [];
    hook = await startHttpServer((_req, res, body) => {
      bodies.push(body.toString("utf8"));
      res.writeHead(status).end();
    });
  });
  afterAll(async () => {
    await hook?.close();
  });

  it("sends text (Slack, Teams) and the structured summary, most severe first, one line per finding", async () => {
    const summary = summariseChanges(
      { runId: "rescan-1", kind: "rescan", target: "" },
      [
        change("CVE-2099-0002", "low", "sha256:b"),
        change("CVE-2099-0001", "critical", "sha256:a"),
        { ...change("CVE-2099-0003", "high", "sha256:a"), kind: "fixed" },
      ],
      (digest) => (digest === "sha256:a" ? ["r.example/team/app:1"] : []),
    );
    await postWebhook(`${hook.baseUrl}/services/T000/B000/secret`, summary);
    const payload = JSON.parse(bodies[0]!);
    expect(payload.text.split("\n")).toEqual([
      "Stowaway rescan of the store: 2 new findings, 1 fixed, 0 newly fixable",
      "• CVE-2099-0001 (critical) openssl 3.1.4-r0 → 3.1.4-r2 in r.example/team/app:1",
      "• CVE-2099-0002 (low) openssl 3.1.4-r0 → 3.1.4-r2 in sha256:b",
    ]);
    expect(payload.stowaway.newFindings).toBe(2);
    expect(payload.stowaway.findings.map((f: { vulnerabilityId: string }) => f.vulnerabilityId)).toEqual([
      "CVE-2099-0001",
      "CVE-2099-0002",
    ]);
  });

  it("keeps advisory text on one line", () => {
    const payload = webhookPayload({
      runId: "r",
      kind: "scan",
      target: "r.example",
      newFindings: 1,
      fixedFindings: 0,
      newlyFixable: 0,
      findings: [
        {
          vulnerabilityId: "CVE-1\n• forged line",
          severity: "high",
          packageName: "x\u001b[2Jy",
          installedVersion: "1",
          digest: "sha256:a",
          references: [],
        },
      ],
    });
    expect((payload["text"] as string).split("\n")).toHaveLength(2);
    expect(payload["text"]).not.toContain("\u001b");
  });

  it("names only the webhook's host when it fails: the URL is a secret", async () => {
    status = 500;
    const summary = summariseChanges(
      { runId: "r", kind: "scan", target: "t" },
      [change("CVE-1", "high", "d")],
      () => [],
    );
    const error = (await postWebhook(`${hook.baseUrl}/services/T000/B000/s3cret-path`, summary).catch(
      (e) => e,
    )) as Error;
    expect(error.message).toBe(
      `the webhook at ${hook.host} answered HTTP 500; the results are stored, check the webhook URL`,
    );
    expect(error.message).not.toContain("s3cret");
  });
});
