import { inflateSync } from "node:zlib";
import { isRecord, nonEmptyString } from "../lang/manifest-cataloger.js";

/** One crate of cargo-auditable's dependency list. */
export interface AuditedCrate {
  name: string;
  version: string;
  /** "crates.io", "git", "local", "registry" or "other" as cargo-auditable writes it. */
  source: string;
  /** "build" for build scripts and proc-macros, which run at compile time and ship no code. */
  kind: "runtime" | "build";
  root: boolean;
}

/** The list for a large workspace inflates to a few hundred kilobytes; more is a zlib bomb. */
const MAX_INFLATED_BYTES = 16 * 1024 * 1024;

/**
 * Decodes the `.dep-v0` section cargo-auditable embeds: zlib-compressed JSON
 * `{"packages": [{name, version, source, kind?, dependencies?, root?}]}`.
 */
export function parseAuditData(section: Buffer): { crates: AuditedCrate[]; problems: string[]; incomplete?: boolean } {
  let text: string;
  try {
    text = inflateSync(section, { maxOutputLength: MAX_INFLATED_BYTES }).toString("utf8");
  } catch (error) {
    // Over the bound zlib stops with ERR_BUFFER_TOO_LARGE: the list was not read, which the gate must see.
    const overLimit = (error as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE";
    return {
      crates: [],
      problems: [`.dep-v0 does not inflate: ${(error as Error).message}`],
      ...(overLimit ? { incomplete: true } : {}),
    };
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    return { crates: [], problems: [`.dep-v0 is not JSON: ${(error as Error).message}`] };
  }
  if (!isRecord(data) || !Array.isArray(data.packages))
    return { crates: [], problems: [".dep-v0 has no packages list"] };
  const crates: AuditedCrate[] = [];
  let skipped = 0;
  for (const entry of data.packages) {
    const name = isRecord(entry) ? nonEmptyString(entry.name) : undefined;
    const version = isRecord(entry) ? nonEmptyString(entry.version) : undefined;
    if (!isRecord(entry) || !name || !version) {
      skipped += 1;
      continue;
    }
    crates.push({
      name,
      version,
      source: nonEmptyString(entry.source) ?? "crates.io",
      kind: entry.kind === "build" ? "build" : "runtime",
      root: entry.root === true,
    });
  }
  return { crates, problems: skipped > 0 ? [`${skipped} .dep-v0 entries without name or version`] : [] };
}
