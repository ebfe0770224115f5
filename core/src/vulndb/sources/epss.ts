import type { EpssScore } from "../types.js";
import type { WarningSink } from "../errors.js";

export const EPSS_SOURCE = "epss";

/** FIRST's CSV: optional `#model_version:…,score_date:…` comment, then `cve,epss,percentile`. */
export function looksLikeEpssCsv(text: string): boolean {
  const lines = text.slice(0, 4096).split(/\r?\n/);
  const header = lines.find((line) => line.trim() !== "" && !line.startsWith("#"));
  return lines[0]?.startsWith("#model_version") === true || header?.trim().toLowerCase() === "cve,epss,percentile";
}

const CVE = /^CVE-\d{4}-\d{4,}$/;

function probability(text: string | undefined): number | undefined {
  if (text === undefined || !/^\s*\d*\.?\d+(e-?\d+)?\s*$/i.test(text)) return undefined;
  const value = Number(text);
  return value >= 0 && value <= 1 ? value : undefined;
}

/** Valid rows of one EPSS CSV; a wrong header skips the file, malformed rows are counted in one warning. */
export function parseEpssCsv(text: string, where: string, warn: WarningSink): EpssScore[] {
  const lines = text.split(/\r?\n/);
  let date: string | undefined;
  let index = 0;
  for (; index < lines.length && lines[index]!.startsWith("#"); index++) {
    const match = /score_date:(\d{4}-\d{2}-\d{2})/.exec(lines[index]!);
    if (match) date = match[1];
  }
  const header = lines[index]?.trim().toLowerCase();
  if (header !== "cve,epss,percentile") {
    warn(`${where}: EPSS header is ${JSON.stringify(lines[index] ?? "")}, expected "cve,epss,percentile"; skipped`);
    return [];
  }
  const scores: EpssScore[] = [];
  let rejected = 0;
  let firstBad: number | undefined;
  for (index++; index < lines.length; index++) {
    const line = lines[index]!;
    if (line.trim() === "") continue;
    const [cveId, score, percentile] = line.split(",");
    const p = probability(score);
    const q = probability(percentile);
    if (!cveId || !CVE.test(cveId.trim()) || p === undefined || q === undefined) {
      rejected++;
      firstBad ??= index + 1;
      continue;
    }
    scores.push({ cveId: cveId.trim(), score: p, percentile: q, ...(date ? { date } : {}) });
  }
  if (rejected > 0) warn(`${where}: ${rejected} malformed EPSS rows skipped (first at line ${firstBad})`);
  return scores;
}
