import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeHostileFixture, type HostileFixture } from "../../../core/test/helpers/hostile-image.js";
import { unsafeLines } from "../../../core/test/helpers/log-safety.js";
import { HAS_GROOVY, run } from "./groovy.js";

const ROOT = path.resolve(fileURLToPath(new URL("../../..", import.meta.url)));
const STEP = path.join(ROOT, "plugins/jenkins/vars/stowawayScan.groovy");
const STUBS = path.join(ROOT, "plugins/jenkins/test/stubs");
const CLI = path.join(ROOT, "cli/dist/main.js");

const work = mkdtempSync(path.join(tmpdir(), "stowaway-jenkins-log-safety-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));
let fixture: HostileFixture;

beforeAll(async () => {
  fixture = await writeHostileFixture(path.join(work, "hostile"));
}, 60_000);

interface StubState {
  error?: string;
  result: string | null;
  sh: { status: number; output: string }[];
  echo: string[];
}

function stowawayShim(): string {
  const file = path.join(work, "bin", "stowaway");
  if (!existsSync(file)) {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, `#!/bin/sh\nexec node '${CLI}' "$@"\n`);
    chmodSync(file, 0o755);
  }
  return file;
}

/** The step on the stubs; the console is what Jenkins would show (the runner's state line aside). */
async function runStep(args: Record<string, unknown>): Promise<{ state: StubState; console: string }> {
  const workspace = mkdtempSync(path.join(work, "ws-"));
  const argsFile = path.join(work, `${path.basename(workspace)}.args.json`);
  const credentialsFile = path.join(work, `${path.basename(workspace)}.credentials.json`);
  writeFileSync(argsFile, JSON.stringify({ command: stowawayShim(), cacheDir: path.join(work, "cache"), ...args }));
  writeFileSync(credentialsFile, "{}");
  const child = await run(
    "groovy",
    ["-cp", STUBS, path.join(STUBS, "run-step.groovy"), STEP, argsFile, credentialsFile],
    {
      cwd: workspace,
    },
  );
  const lines = child.stdout.split("\n");
  const marker = lines.find((line) => line.startsWith("STUB_STATE "));
  if (!marker) throw new Error(`the step runner printed no state:\n${child.stdout}\n${child.stderr}`);
  const console = lines.filter((line) => line !== marker).join("\n") + child.stderr;
  return { state: JSON.parse(marker.slice("STUB_STATE ".length)) as StubState, console };
}

/** Jenkins reads ESC sequences as console notes; nothing from the image may reach it raw. */
function expectInert(state: StubState, console: string): void {
  expect(unsafeLines(console), "console").toEqual([]);
  expect(unsafeLines(state.error ?? ""), "error()").toEqual([]);
  for (const message of state.echo) expect(unsafeLines(message), "echo").toEqual([]);
  for (const call of state.sh) expect(unsafeLines(call.output), "sh output").toEqual([]);
}

const suite = HAS_GROOVY ? describe : describe.skip;
const why = HAS_GROOVY ? "" : " (skipped: groovy is not installed; CI installs it with apt-get install -y groovy)";

suite(`stowawayScan on a hostile image and advisory${why}`, () => {
  it("a failing gate: error() quotes the violation, neutralised by core, never the raw report", async () => {
    const { state, console } = await runStep({ image: fixture.target, db: fixture.db, failOn: "high" });
    expect(state.result).toBe("FAILURE");
    expectInert(state, console);
    expect(state.error).toMatch(/^Stowaway gate failed/);
    expect(state.error).toContain("CVE-2099-0001 in evil#\\#vso[task.setvariable variable=PWNED]azure-injected");
  });

  it("warn mode: the UNSTABLE echo is inert too", async () => {
    const { state, console } = await runStep({ image: fixture.target, db: fixture.db, failOn: "high", mode: "warn" });
    expect(state.result).toBe("UNSTABLE");
    expectInert(state, console);
    expect(state.echo.join("\n")).toContain("evil#\\#vso[task.setvariable");
  });

  it("a missing tag: error() carries the CLI's one neutralised line", async () => {
    const { state, console } = await runStep({ image: `oci:${fixture.taggedLayout}:nope`, db: fixture.db });
    expect(state.result).toBe("FAILURE");
    expectInert(state, console);
    expect(state.error).toMatch(/^Stowaway could not scan .* \(exit 2\): stowaway: error: .*no image tagged "nope"/);
    expect(state.error!.split("\n")).toHaveLength(1);
  });
});
