import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hostFromApiUrl, main } from "../src/mr-note.js";
import { GITLAB_NOTE_LIMIT, noteBody } from "../src/note.js";
import { startFakeGitlab } from "./fake-gitlab.js";
import { demoDb, demoFindings, demoImage, installedCommands, runAsync, stowaway, tempDir } from "./harness.js";

const TOKEN = "glpat-s3cret-Zq9xW2vU7tR4";
const work = tempDir("stowaway-mr-note-");
const resultFile = path.join(work, "stowaway.json");
/** The demo image's findings by severity, from the CLI's own JSON. */
const DEMO = demoFindings();

beforeAll(() => {
  // The JSON report comes from the real CLI on the demo image, as the scan step writes it.
  const run = stowaway(
    ["scan", demoImage, "--db", demoDb, "--no-cache", "--fail-on", "high", "--report", `json=${resultFile}`],
    { XDG_CACHE_HOME: work },
  );
  expect(run.code, run.stderr).toBe(1);
});

describe("the merge request note", () => {
  let gitlab: Awaited<ReturnType<typeof startFakeGitlab>>;
  beforeAll(async () => {
    gitlab = await startFakeGitlab();
  });
  afterAll(() => gitlab.close());

  const env = () => ({
    CI_API_V4_URL: gitlab.apiUrl,
    CI_PROJECT_ID: "42",
    CI_MERGE_REQUEST_IID: "5",
    CI_JOB_URL: "https://gitlab.example.com/group/app/-/jobs/991",
    STOWAWAY_GITLAB_TOKEN: TOKEN,
  });

  it("creates one note on the first run and updates that same note on the next", async () => {
    const logs: string[] = [];
    expect(await main(["--result", resultFile], env(), (line) => logs.push(line))).toBe(0);
    const notesPath = "/api/v4/projects/42/merge_requests/5/notes";
    expect(gitlab.calls.map((call) => `${call.method} ${call.path}`)).toEqual([
      `GET ${notesPath}`,
      `POST ${notesPath}`,
    ]);
    const created = gitlab.notes.filter((note) => note.body.startsWith("<!-- stowaway-scan -->"));
    expect(created).toHaveLength(1);
    const id = created[0]!.id;

    expect(await main(["--result", resultFile, "--severity", "HIGH"], env(), (line) => logs.push(line))).toBe(0);
    expect(gitlab.calls.slice(2).map((call) => `${call.method} ${call.path}`)).toEqual([
      `GET ${notesPath}`,
      `PUT ${notesPath}/${id}`,
    ]);
    expect(gitlab.notes.filter((note) => note.body.includes("<!-- stowaway-scan -->"))).toHaveLength(1);
    // gitbeaker authenticates with PRIVATE-TOKEN; every call carried it.
    for (const call of gitlab.calls) expect(call.headers["private-token"]).toBe(TOKEN);
    expect(logs.join("\n")).not.toContain(TOKEN);
    expect(logs).toEqual([
      `stowaway: created note ${id} on merge request !5`,
      `stowaway: updated note ${id} on merge request !5`,
    ]);
  });

  it("carries the CLI's verdict and the HIGH-or-worse findings, and leaves other people's notes alone", () => {
    const body = gitlab.notes.find((note) => note.body.includes("<!-- stowaway-scan -->"))!.body;
    const result = JSON.parse(readFileSync(resultFile, "utf8"));
    expect(result.policy.outcome).toBe("fail");
    expect(body).toContain("FAIL");
    // The note was last updated with --severity HIGH: CRITICAL and HIGH findings in, the rest filtered out.
    expect(DEMO.critical.length + DEMO.high.length).toBeGreaterThan(0);
    for (const id of [...DEMO.critical, ...DEMO.high]) expect(body).toContain(id);
    for (const id of [...DEMO.medium, ...DEMO.low]) expect(body).not.toContain(id);
    expect(body).not.toContain(TOKEN);
    expect(gitlab.notes.find((note) => note.id === 8)!.body).toBe("Looks good to me");
  });

  it("keeps separate notes per STOWAWAY_NOTE_KEY", async () => {
    const before = gitlab.notes.length;
    expect(await main(["--result", resultFile], { ...env(), STOWAWAY_NOTE_KEY: "api-image" }, () => {})).toBe(0);
    expect(gitlab.notes).toHaveLength(before + 1);
    expect(gitlab.notes.at(-1)!.body.startsWith("<!-- stowaway-scan:api-image -->")).toBe(true);
  });

  it("masks the token in failures and exits 1 when GitLab refuses", async () => {
    const logs: string[] = [];
    const code = await main(
      ["--result", resultFile],
      { ...env(), CI_API_V4_URL: gitlab.apiUrl.replace("/api/v4", "/nowhere/api/v4") },
      (line) => logs.push(line),
    );
    expect(code).toBe(1);
    expect(logs.join("\n")).toMatch(/merge request note failed/);
    expect(logs.join("\n")).not.toContain(TOKEN);
  });

  it("says what is missing instead of calling GitLab outside merge request pipelines", async () => {
    const logs: string[] = [];
    const calls = gitlab.calls.length;
    const { CI_MERGE_REQUEST_IID: _unused, ...outside } = env();
    expect(await main(["--result", resultFile], outside, (line) => logs.push(line))).toBe(2);
    expect(logs[0]).toMatch(/CI_MERGE_REQUEST_IID is not set/);
    expect(gitlab.calls.length).toBe(calls);
  });

  it("runs as a program (the job's bin) without printing the token", async () => {
    const bin = installedCommands(work);
    const run = await runAsync(path.join(bin, "stowaway-gitlab-mr-note"), ["--result", resultFile], {
      env: { ...process.env, ...env() },
    });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/updated note \d+ on merge request !5/);
    expect(run.stdout + run.stderr).not.toContain(TOKEN);
  });
});

describe("note size and addressing", () => {
  it("stays under GitLab's 1,000,000-character note limit however many findings there are", () => {
    const result = JSON.parse(readFileSync(resultFile, "utf8"));
    const template = result.findings[0];
    // Blow the real result up far beyond the limit; the renderer must cut it down, not GitLab.
    result.findings = Array.from({ length: 5_000 }, (_, index) => ({
      ...template,
      findingId: `${template.findingId}-${index}`,
      id: `CVE-2099-${100000 + index}`,
      packageName: `package-${"x".repeat(1_500)}-${index}`,
    }));
    const url = "https://gitlab.example.com/group/app/-/jobs/991/artifacts/file/stowaway-reports/stowaway.html";
    const body = noteBody(result, { fullReportUrl: url });
    expect(body.length).toBeLessThanOrEqual(GITLAB_NOTE_LIMIT);
    // Well past a GitHub-sized comment: the note uses the room GitLab gives it.
    expect(body.length).toBeGreaterThan(900_000);
    expect(body.startsWith("<!-- stowaway-scan -->\n")).toBe(true);
    expect(body).toContain(`[full report](${url})`);
  });

  it("derives gitbeaker's host from CI_API_V4_URL, relative URL roots included", () => {
    expect(hostFromApiUrl("https://gitlab.example.com/api/v4")).toBe("https://gitlab.example.com");
    expect(hostFromApiUrl("https://example.com/gitlab/api/v4/")).toBe("https://example.com/gitlab");
    expect(() => hostFromApiUrl("https://gitlab.example.com/")).toThrow(/does not end in \/api\/v4/);
  });
});
