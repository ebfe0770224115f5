import * as github from "@actions/github";
import { renderReport, type ReportOptions, type ScanResult } from "@stowaway/core";

/** Finds our comment again on later runs, so a PR carries one scan comment that stays current. */
export const COMMENT_MARKER = "<!-- stowaway-scan -->";
/** GitHub rejects comment bodies over 65,536 characters; markdown is budgeted in bytes, which is stricter. */
const COMMENT_LIMIT = 65_536;

export function pullRequestNumber(): number | undefined {
  const number = github.context.payload.pull_request?.number;
  return typeof number === "number" ? number : undefined;
}

export function commentBody(result: ScanResult, options: ReportOptions): string {
  const budget = COMMENT_LIMIT - Buffer.byteLength(`${COMMENT_MARKER}\n`);
  return `${COMMENT_MARKER}\n${renderReport("markdown", result, { ...options, markdownBudget: budget })}`;
}

/** Updates the PR's Stowaway comment, or creates it on the first run. */
export async function upsertComment(
  token: string,
  issueNumber: number,
  body: string,
): Promise<{ action: "created" | "updated"; id: number }> {
  const octokit = github.getOctokit(token);
  const { owner, repo } = github.context.repo;
  const comments = await octokit.paginate(octokit.rest.issues.listComments, {
    owner,
    repo,
    issue_number: issueNumber,
    per_page: 100,
  });
  const existing = comments.find((comment) => comment.body?.includes(COMMENT_MARKER));
  if (existing) {
    await octokit.rest.issues.updateComment({ owner, repo, comment_id: existing.id, body });
    return { action: "updated", id: existing.id };
  }
  const created = await octokit.rest.issues.createComment({ owner, repo, issue_number: issueNumber, body });
  return { action: "created", id: created.data.id };
}
