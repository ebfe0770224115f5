import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { actionHarness, annotations, demoArchive, demoDb } from "./harness.js";

const harness = actionHarness("stowaway-gha-comment-");
const MARKER = "<!-- stowaway-scan -->";

interface StoredComment {
  id: number;
  body: string;
}

interface Request {
  method: string;
  path: string;
  authorization?: string;
}

/**
 * Enough of the REST API for the upsert: list issue comments (two per page, with Link headers, so
 * the action must paginate), create one, update one. Another bot's comment sits on the first page.
 */
function fakeGitHub(): { server: http.Server; comments: StoredComment[]; requests: Request[] } {
  const comments: StoredComment[] = [
    { id: 101, body: "LGTM" },
    { id: 102, body: "<!-- other-bot -->\ncoverage 80%" },
  ];
  const requests: Request[] = [];
  let nextId = 500;
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    requests.push({ method: req.method ?? "", path: url.pathname, authorization: req.headers.authorization });
    let raw = "";
    req.on("data", (chunk: Buffer) => (raw += chunk.toString("utf8")));
    req.on("end", () => {
      const send = (status: number, body: unknown, headers: Record<string, string> = {}) =>
        res.writeHead(status, { "content-type": "application/json", ...headers }).end(JSON.stringify(body));
      if (req.method === "GET" && url.pathname === "/repos/acme/shop/issues/42/comments") {
        const page = Number(url.searchParams.get("page") ?? "1");
        const size = 2;
        const slice = comments.slice((page - 1) * size, page * size);
        const last = Math.max(1, Math.ceil(comments.length / size));
        const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}${url.pathname}?per_page=${size}`;
        const link: Record<string, string> =
          page < last ? { link: `<${base}&page=${page + 1}>; rel="next", <${base}&page=${last}>; rel="last"` } : {};
        send(200, slice, link);
      } else if (req.method === "POST" && url.pathname === "/repos/acme/shop/issues/42/comments") {
        const comment = { id: nextId++, body: (JSON.parse(raw) as { body: string }).body };
        comments.push(comment);
        send(201, comment);
      } else if (req.method === "PATCH" && url.pathname.startsWith("/repos/acme/shop/issues/comments/")) {
        const comment = comments.find((item) => item.id === Number(url.pathname.split("/").pop()));
        if (!comment) return send(404, { message: "Not Found" });
        comment.body = (JSON.parse(raw) as { body: string }).body;
        send(200, comment);
      } else {
        send(404, { message: "Not Found" });
      }
    });
  });
  return { server, comments, requests };
}

describe("PR comment upsert against a local stand-in for the GitHub API", () => {
  const github = fakeGitHub();
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    await new Promise<void>((resolve) => github.server.listen(0, "127.0.0.1", resolve));
    const event = path.join(harness.work(), "event.json");
    writeFileSync(event, JSON.stringify({ action: "synchronize", number: 42, pull_request: { number: 42 } }));
    env = {
      GITHUB_API_URL: `http://127.0.0.1:${(github.server.address() as AddressInfo).port}`,
      GITHUB_EVENT_NAME: "pull_request",
      GITHUB_EVENT_PATH: event,
      GITHUB_REPOSITORY: "acme/shop",
      NO_PROXY: "127.0.0.1",
    };
  });
  afterAll(() => new Promise((resolve) => github.server.close(resolve)));

  const inputs = {
    image: `oci-archive:${demoArchive}`,
    db: demoDb,
    "fail-on": "high",
    "github-token": "ghs_local-test-token",
  };

  it("creates the comment on the first run and updates that same comment on the second", async () => {
    const first = await harness.runAction(inputs, env);
    expect(first.code).toBe(1);
    const ours = github.comments.filter((comment) => comment.body.startsWith(MARKER));
    expect(ours).toHaveLength(1);
    const id = ours[0]!.id;
    expect(first.stdout).toContain(`PR comment created (id ${id})`);
    expect(ours[0]!.body).toContain("**Policy: ❌ FAIL**");
    expect(ours[0]!.body).toContain("CVE-2023-43804");
    expect(ours[0]!.body.length).toBeLessThanOrEqual(65_536);

    github.requests.length = 0;
    ours[0]!.body = `${MARKER}\nstale`;
    const second = await harness.runAction(inputs, env);
    expect(second.code).toBe(1);
    expect(second.stdout).toContain(`PR comment updated (id ${id})`);
    expect(github.comments.filter((comment) => comment.body.startsWith(MARKER))).toHaveLength(1);
    expect(github.comments.find((comment) => comment.id === id)!.body).toContain("CVE-2023-43804");
    // Our comment was on page 2: the action followed the Link header rather than stopping at page 1.
    expect(github.requests.filter((request) => request.method === "GET")).toHaveLength(2);
    expect(github.requests.map((request) => request.method)).not.toContain("POST");
    expect(new Set(github.requests.map((request) => request.authorization))).toEqual(
      new Set(["token ghs_local-test-token"]),
    );
    expect(second.stdout.split("\n").slice(1).join("\n")).not.toContain("ghs_local-test-token");
  });

  it("warns, and leaves the verdict alone, when the API refuses the comment", async () => {
    const event = path.join(harness.work(), "event-other.json");
    writeFileSync(event, JSON.stringify({ pull_request: { number: 7 } }));
    // The gate is off so the step passes: a failed comment must not turn it red.
    const run = await harness.runAction({ ...inputs, "fail-on": "none" }, { ...env, GITHUB_EVENT_PATH: event });
    expect(run.code).toBe(0);
    expect(run.outputs.outcome).toBe("pass");
    expect(annotations(run, "warning").map((warning) => warning.message)).toEqual([
      expect.stringMatching(/^could not comment on pull request #7: /),
    ]);
  });

  it("does not comment outside pull_request events", async () => {
    const event = path.join(harness.work(), "event-push.json");
    writeFileSync(event, JSON.stringify({ ref: "refs/heads/main" }));
    github.requests.length = 0;
    const run = await harness.runAction(inputs, { ...env, GITHUB_EVENT_NAME: "push", GITHUB_EVENT_PATH: event });
    expect(run.code).toBe(1);
    expect(github.requests).toEqual([]);
    expect(run.stdout).toContain("not a pull_request event; no PR comment");
  });
});
