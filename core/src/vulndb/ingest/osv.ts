import yaml from "js-yaml";
import type { OsvRecord } from "../osv.js";
import type { WarningSink } from "../errors.js";
import { checkOsvSchema } from "../schema.js";

export type OsvTextFormat = "json" | "yaml";

function parseText(text: string, format: OsvTextFormat): unknown {
  // CORE_SCHEMA keeps YAML timestamps such as `modified: 2024-01-01T00:00:00Z` as the strings OSV requires.
  return format === "json" ? JSON.parse(text) : yaml.load(text, { schema: yaml.CORE_SCHEMA });
}

/** A parsed document that is shaped like an OSV record (used to recognise OSV files among other feeds). */
export function looksLikeOsv(value: unknown): boolean {
  if (!value || typeof value !== "object" || Array.isArray(value)) return false;
  const record = value as Record<string, unknown>;
  // `affected` is optional in OSV (advisory-only records such as RHSA umbrella errata), so id+modified decide.
  return typeof record.id === "string" && typeof record.modified === "string";
}

/**
 * Validates one parsed OSV document. Returns the record, or undefined after one warning naming
 * `where` and the record when it is invalid or withdrawn.
 */
export function acceptOsvRecord(value: unknown, where: string, warn: WarningSink): OsvRecord | undefined {
  const id =
    value && typeof value === "object" && typeof (value as { id?: unknown }).id === "string"
      ? (value as { id: string }).id
      : undefined;
  const label = id ? `${where}: record ${id}` : where;
  const verdict = checkOsvSchema(value);
  if (verdict.fatal) {
    warn(`${label} is not a valid OSV record (${verdict.fatal}); skipped`);
    return undefined;
  }
  const record = value as OsvRecord;
  if (record.withdrawn) {
    warn(`${label} was withdrawn on ${record.withdrawn}; skipped`);
    return undefined;
  }
  for (const issue of verdict.severityIssues) {
    warn(`${label}: severity ${issue}; the record is kept and the vector is scored leniently or ignored`);
  }
  return record;
}

/** Parses and validates an OSV record file's text; undefined (after a warning) when unusable. */
export function parseOsvText(
  text: string,
  format: OsvTextFormat,
  where: string,
  warn: WarningSink,
): OsvRecord | undefined {
  let value: unknown;
  try {
    value = parseText(text, format);
  } catch (error) {
    const reason = (error as Error).message.split("\n")[0];
    warn(`${where}: not valid ${format.toUpperCase()} (${reason}); skipped`);
    return undefined;
  }
  return acceptOsvRecord(value, where, warn);
}

export { parseText as parseStructuredText };
