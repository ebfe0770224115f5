import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import {
  finalFromLine,
  neutralizeLog,
  neutralizeLogLines,
  readBaseline,
  StowawayError,
  type ScanResult,
} from "@stowaway/core";
import { uploadCodeInsights, type InsightOptions, type UploadTarget } from "./code-insights.js";

export interface CliContext {
  argv: string[];
  env: NodeJS.ProcessEnv;
  out: (line: string) => void;
  err: (line: string) => void;
}

const USAGE = `usage: stowaway-bamboo-insights --url URL --project KEY --repo SLUG [--commit SHA] [--report stowaway.json]
       [--report-key stowaway] [--link URL] [--dockerfile PATH[:LINE]]
The token comes from env STOWAWAY_BITBUCKET_TOKEN (never a flag: flags show in process lists).
--url defaults to env BITBUCKET_URL, --commit to env bamboo_planRepository_revision.`;

/**
 * Uploads a finished scan's JSON report to Bitbucket Server Code Insights. It reads the report the
 * script task wrote instead of scanning again, so the card always matches the gate that ran.
 * Exit 0 uploaded, 2 could not (bad arguments, unreadable report, HTTP error).
 */
export async function runInsightsCli(context: CliContext): Promise<number> {
  const token = context.env.STOWAWAY_BITBUCKET_TOKEN ?? "";
  const redact = (text: string): string => (token ? text.split(token).join("***") : text);
  try {
    const { values } = parseArgs({
      args: context.argv,
      options: {
        url: { type: "string" },
        project: { type: "string" },
        repo: { type: "string" },
        commit: { type: "string" },
        report: { type: "string", default: "stowaway-reports/stowaway.json" },
        "report-key": { type: "string", default: "stowaway" },
        link: { type: "string" },
        dockerfile: { type: "string" },
      },
      strict: true,
    });
    const baseUrl = values.url ?? context.env.BITBUCKET_URL;
    const commit = values.commit ?? context.env.bamboo_planRepository_revision;
    const missing = [
      ["--url (or BITBUCKET_URL)", baseUrl],
      ["--project", values.project],
      ["--repo", values.repo],
      ["--commit (or bamboo_planRepository_revision)", commit],
      ["STOWAWAY_BITBUCKET_TOKEN", token],
    ].filter(([, value]) => !value);
    if (missing.length > 0) throw new StowawayError(`missing ${missing.map(([name]) => name).join(", ")}\n${USAGE}`);
    const result: ScanResult = await readBaseline(values.report);
    const target: UploadTarget = {
      baseUrl: baseUrl!,
      token,
      projectKey: values.project!,
      repositorySlug: values.repo!,
      commit: commit!,
      reportKey: values["report-key"],
    };
    const options: InsightOptions = {
      ...(values.link ? { link: values.link } : {}),
      ...(values.dockerfile ? { dockerfile: await dockerfileAnchor(values.dockerfile) } : {}),
    };
    const { annotations } = await uploadCodeInsights(result, target, options);
    context.out(
      neutralizeLog(
        `Code Insights report "${target.reportKey}" on ${target.projectKey}/${target.repositorySlug}@${target.commit}: ` +
          `${result.policy?.outcome === "fail" ? "FAIL" : "PASS"}, ${annotations} annotation(s)`,
      ),
    );
    return 0;
  } catch (error) {
    // Errors can quote the report (image and advisory text): neutralised, usage lines kept (docs/log-safety.md).
    context.err(
      neutralizeLogLines(redact(`stowaway-bamboo-insights: ${error instanceof Error ? error.message : String(error)}`)),
    );
    return 2;
  }
}

/** PATH:LINE as given, or PATH anchored on its final FROM line (line 1 when none is found). */
async function dockerfileAnchor(spec: string): Promise<{ path: string; line: number }> {
  const match = /^(.*):(\d+)$/.exec(spec);
  if (match) return { path: match[1]!, line: Number(match[2]) };
  const text = await readFile(spec, "utf8").catch(() => "");
  return { path: spec, line: finalFromLine(text) ?? 1 };
}
