import type { FileCataloger, FileContent, PackageCandidate } from "../types.js";
import { warning } from "../warnings.js";

/** What a manifest parser hands back: the packages it could read, and why it skipped the rest. */
export interface ManifestParse {
  packages: PackageCandidate[];
  problems: string[];
}

export interface ManifestCatalogerSpec {
  name: string;
  version: number;
  /** Decides from the path alone whether a file is this format's installed-package manifest. */
  matches(path: string): boolean;
  /** Installed manifests are small; anything larger is generated data or hostile, and is not read. */
  maxBytes: number;
  parse(content: Buffer, path: string): ManifestParse;
}

/** Enough to diagnose a damaged file without flooding the report. */
const MAX_PROBLEMS_PER_FILE = 5;

/**
 * A file cataloger for formats where one small text file describes installed packages (dist-info
 * METADATA, deps.json, installed.json, gemspecs). Keeps the never-throw rule in one place: a parser
 * that fails costs a warning for that file, not the layer.
 */
export function manifestCataloger(spec: ManifestCatalogerSpec): FileCataloger {
  return {
    kind: "file",
    name: spec.name,
    version: spec.version,
    wants: (path) => spec.matches(path),
    maxBytes: () => spec.maxBytes,
    async analyze(file: FileContent, context) {
      if (file.size > spec.maxBytes) return [];
      try {
        const { packages, problems } = spec.parse(await file.readAll(), file.path);
        for (const problem of problems.slice(0, MAX_PROBLEMS_PER_FILE))
          context.warnings.push(warning(spec.name, file.path, problem));
        if (problems.length > MAX_PROBLEMS_PER_FILE)
          context.warnings.push(
            warning(spec.name, file.path, `${problems.length - MAX_PROBLEMS_PER_FILE} more problems not shown`),
          );
        return packages;
      } catch (error) {
        context.warnings.push(warning(spec.name, file.path, `unreadable: ${(error as Error).message}`));
        return [];
      }
    },
  };
}

/** Decodes text the way these manifests are written: UTF-8, with an optional byte-order mark. */
export function decodeText(content: Buffer): string {
  return content.toString("utf8").replace(/^\uFEFF/, "");
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function nonEmptyString(value: unknown): string | undefined {
  return typeof value === "string" && value.trim() !== "" ? value.trim() : undefined;
}
