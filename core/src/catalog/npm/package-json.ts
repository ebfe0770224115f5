/** The parts of an installed package.json the scanner uses. */
export interface NpmManifest {
  name: string;
  version: string;
  licenses?: string[];
  /** npm 6 recorded bundleDependencies members with `_inBundle`. */
  inBundle: boolean;
  private: boolean;
}

export type ManifestResult = { manifest: NpmManifest } | { skipped: string };

/** Parses one package.json; never throws, says why it skipped a file instead. */
export function parsePackageJson(content: Buffer): ManifestResult {
  let data: unknown;
  try {
    data = JSON.parse(content.toString("utf8").replace(/^\uFEFF/, ""));
  } catch (error) {
    return { skipped: `malformed JSON: ${error instanceof Error ? error.message : String(error)}` };
  }
  if (!isRecord(data)) return { skipped: "not a JSON object" };
  const name = typeof data.name === "string" ? data.name.trim() : "";
  const version = typeof data.version === "string" ? data.version.trim() : "";
  if (!name || !version) return { skipped: "no name or version" };
  const manifest: NpmManifest = { name, version, inBundle: data._inBundle === true, private: data.private === true };
  const licenses = readLicenses(data);
  if (licenses.length > 0) manifest.licenses = licenses;
  return { manifest };
}

/**
 * `license` is an SPDX expression today; older packages used `license: {type}` or
 * `licenses: [{type}]`, and some list plain strings.
 */
function readLicenses(data: Record<string, unknown>): string[] {
  const found: string[] = [];
  const take = (value: unknown): void => {
    if (typeof value === "string") {
      if (value.trim()) found.push(value.trim());
    } else if (Array.isArray(value)) {
      value.forEach(take);
    } else if (isRecord(value)) {
      take(value.type ?? value.name);
    }
  };
  take(data.license);
  if (found.length === 0) take(data.licenses);
  return [...new Set(found)];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
