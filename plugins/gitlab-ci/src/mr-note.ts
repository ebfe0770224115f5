#!/usr/bin/env node
import { realpathSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Gitlab } from "@gitbeaker/rest";
import { neutralizeLog, type ScanResult, type Severity } from "@stowaway/core";
import { noteBody, noteMarker, upsertNote, type NotesApi } from "./note.js";

const SEVERITIES = ["critical", "high", "medium", "low", "negligible", "unknown"];

class UsageError extends Error {}

function required(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name]?.trim();
  if (!value) throw new UsageError(`${name} is not set; the note is only posted from merge request pipelines`);
  return value;
}

/** gitbeaker appends /api/v4 itself, while GitLab hands jobs the full API URL. */
export function hostFromApiUrl(apiUrl: string): string {
  const trimmed = apiUrl.replace(/\/+$/, "");
  if (!trimmed.endsWith("/api/v4")) throw new UsageError(`CI_API_V4_URL "${apiUrl}" does not end in /api/v4`);
  return trimmed.slice(0, -"/api/v4".length);
}

async function readResult(file: string): Promise<ScanResult> {
  const parsed = JSON.parse(await readFile(file, "utf8")) as Partial<ScanResult>;
  if (parsed?.schemaVersion !== 1 || !Array.isArray(parsed.packages)) {
    throw new UsageError(`${file} is not a Stowaway JSON report (write one with --report json=FILE)`);
  }
  return parsed as ScanResult;
}

/**
 * Upserts the scan summary as one merge request note. Reads the JSON report the scan step wrote
 * and GitLab's predefined variables plus STOWAWAY_GITLAB_TOKEN (a project access token with `api`
 * scope: CI_JOB_TOKEN cannot write notes).
 */
export async function main(argv: string[], env: NodeJS.ProcessEnv, log: (line: string) => void): Promise<number> {
  const token = env.STOWAWAY_GITLAB_TOKEN?.trim() ?? "";
  try {
    const { values } = parseArgs({
      args: argv,
      options: { result: { type: "string", default: "stowaway-reports/stowaway.json" }, severity: { type: "string" } },
    });
    const severity = values.severity?.trim().toLowerCase() || undefined;
    if (severity && !SEVERITIES.includes(severity)) throw new UsageError(`--severity "${severity}" is not a severity`);
    if (!token) throw new UsageError("STOWAWAY_GITLAB_TOKEN is not set");
    const mergeRequestIid = Number(required(env, "CI_MERGE_REQUEST_IID"));
    const projectId = required(env, "CI_PROJECT_ID");
    const host = hostFromApiUrl(required(env, "CI_API_V4_URL"));
    const key = env.STOWAWAY_NOTE_KEY?.trim() || undefined;
    const result = await readResult(values.result);
    const body = noteBody(result, {
      ...(severity ? { severity: severity as Severity } : {}),
      ...(env.CI_JOB_URL ? { fullReportUrl: `${env.CI_JOB_URL}/artifacts/file/stowaway-reports/stowaway.html` } : {}),
      ...(key ? { key } : {}),
    });
    const api = new Gitlab({ host, token });
    const done = await upsertNote(
      api.MergeRequestNotes as unknown as NotesApi,
      { projectId, mergeRequestIid },
      body,
      noteMarker(key),
    );
    log(`stowaway: ${done.action} note ${done.id} on merge request !${mergeRequestIid}`);
    return 0;
  } catch (error) {
    // Library errors can echo request details; the token is masked should it ever appear in one.
    const message = (error as Error).message ?? String(error);
    // ... and neutralised, since a response can quote the note (image and advisory text): docs/log-safety.md.
    log(
      neutralizeLog(`stowaway: merge request note failed: ${token ? message.split(token).join("[MASKED]") : message}`),
    );
    return error instanceof UsageError ? 2 : 1;
  }
}

// npm links the bin, so compare real paths to tell "run as a program" from "imported by a test".
if (process.argv[1] && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url))) {
  process.exitCode = await main(process.argv.slice(2), process.env, (line) => console.log(line));
}
