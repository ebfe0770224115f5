import { mkdtempSync, rmSync } from "node:fs";
import path from "node:path";
import type { WarningSink } from "../errors.js";
import type { DatabaseWriter, SourceInfo } from "../store/writer.js";
import { looksLikeCve5Record, parseCve5Record } from "../sources/cve5.js";
import { extractZipMembers, readZipMembers, type ZipLimits } from "./zip.js";

const CVE_MEMBER = /(?:^|\/)CVE-\d{4}-\d{4,}\.json$/;

/**
 * Adds the CVE List V5 records of a cvelistV5 release asset (the baseline zip holding `cves.zip`,
 * or a delta zip of `deltaCves/CVE-….json`) to the writer. A record now REJECTED replaces the CVE's
 * metrics with none, so a delta can withdraw what an earlier baseline said. Returns the records read.
 */
export async function addCve5Zip(
  file: string,
  writer: DatabaseWriter,
  source: SourceInfo,
  warn: WarningSink,
  limits: ZipLimits,
  scratch: string,
  depth = 0,
): Promise<number> {
  let count = 0;
  const nested: string[] = [];
  const isNested = (name: string) => {
    if (depth > 0 || !name.endsWith(".zip")) return false;
    nested.push(name);
    return true;
  };
  for await (const member of readZipMembers(file, limits, isNested)) {
    if (!CVE_MEMBER.test(member.name)) continue;
    const where = `${path.basename(file)}!${member.name.replace(/[^\x20-\x7e]/g, "?")}`;
    let value: unknown;
    try {
      value = JSON.parse(member.data.toString("utf8"));
    } catch (error) {
      warn(`${where}: not valid JSON (${(error as Error).message.split("\n")[0]}); skipped`);
      continue;
    }
    if (!looksLikeCve5Record(value)) {
      warn(`${where}: not a CVE Record (dataType CVE_RECORD); skipped`);
      continue;
    }
    count++;
    const meta = (value as { cveMetadata: Record<string, unknown> }).cveMetadata;
    if (meta.state === "REJECTED" && typeof meta.cveId === "string") {
      const modified = typeof meta.dateUpdated === "string" ? meta.dateUpdated : "";
      writer.addCveMetrics({ cveId: meta.cveId, modified, vectors: [] }, source);
      continue;
    }
    const metrics = parseCve5Record(value, where, warn);
    if (metrics) writer.addCveMetrics(metrics, source);
  }
  for (const name of nested) {
    // The baseline's inner cves.zip is hundreds of MB: streamed to disk, then read like any zip.
    const dir = mkdtempSync(path.join(scratch, "cve5-"));
    try {
      const [inner] = await extractZipMembers(
        file,
        (n) => n === name,
        () => path.join(dir, "inner.zip"),
        limits,
      );
      if (inner) count += await addCve5Zip(inner, writer, source, warn, limits, scratch, depth + 1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return count;
}
