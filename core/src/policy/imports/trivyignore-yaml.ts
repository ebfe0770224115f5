import type yamlModule from "js-yaml";
import { parseDay } from "../dates.js";
import { PolicyError } from "../errors.js";
import type { IgnoreEntry } from "../types.js";
import { lineOf, yamlLineMap } from "../yaml-lines.js";

import { lazyDependency } from "../../lazy-dependency.js";

// eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use, see lazyDependency
const jsYaml = lazyDependency<typeof yamlModule>("js-yaml", () => require("js-yaml"));

/**
 * `.trivyignore.yaml`: the `vulnerabilities` section, entries {id, paths, purls, expired_at,
 * statement}. The other sections (misconfigurations, secrets, licenses) are about checks Stowaway
 * does not run and are skipped.
 */
export function parseTrivyIgnoreYaml(text: string, file: string): IgnoreEntry[] {
  let document: unknown;
  try {
    document = jsYaml().load(text, { filename: file, schema: jsYaml().CORE_SCHEMA });
  } catch (error) {
    if (error instanceof jsYaml().YAMLException) {
      throw new PolicyError(`${file}:${error.mark.line + 1}: (syntax): ${error.reason}`, { cause: error });
    }
    throw error;
  }
  const lines = yamlLineMap(text);
  const fail = (path: string, field: string, message: string): never => {
    throw new PolicyError(`${file}:${lineOf(lines, path)}: ${field}: ${message}`);
  };
  if (document === null || document === undefined) return [];
  if (typeof document !== "object" || Array.isArray(document)) fail("", "(document)", "must be a mapping");
  const vulnerabilities = (document as Record<string, unknown>).vulnerabilities;
  if (vulnerabilities === undefined) return [];
  if (!Array.isArray(vulnerabilities)) return fail("/vulnerabilities", "vulnerabilities", "must be a list");

  return vulnerabilities.map((item: unknown, index): IgnoreEntry => {
    const base = `/vulnerabilities/${index}`;
    const name = `vulnerabilities[${index}]`;
    if (typeof item !== "object" || item === null) return fail(base, name, "must be a mapping");
    const entry = item as Record<string, unknown>;
    if (typeof entry.id !== "string" || entry.id.trim() === "") return fail(`${base}/id`, `${name}.id`, "is required");
    const list = (key: "paths" | "purls"): string[] | undefined => {
      const value = entry[key];
      if (value === undefined || value === null) return undefined;
      if (!Array.isArray(value) || value.some((part) => typeof part !== "string")) {
        return fail(`${base}/${key}`, `${name}.${key}`, "must be a list of strings");
      }
      return value as string[];
    };
    const expiredAt = entry.expired_at;
    if (expiredAt !== undefined && (typeof expiredAt !== "string" || parseDay(expiredAt) === undefined)) {
      fail(`${base}/expired_at`, `${name}.expired_at`, "must be a date written YYYY-MM-DD");
    }
    const paths = list("paths");
    const purls = list("purls");
    return {
      kind: "ignore",
      id: entry.id,
      source: "trivyignore.yaml",
      origin: `${file}:${lineOf(lines, base)}`,
      reason: typeof entry.statement === "string" && entry.statement.trim() ? entry.statement : `listed in ${file}`,
      ...(typeof expiredAt === "string" ? { expires: expiredAt } : {}),
      ...(paths ? { paths } : {}),
      ...(purls ? { purls } : {}),
    };
  });
}
