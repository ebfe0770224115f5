import type { FileCataloger } from "../types.js";
import { manifestCataloger } from "../lang/manifest-cataloger.js";
import { parseDepsJson } from "./deps-json.js";

const NAME = "dotnet";
/** Big applications' deps.json files run to a few megabytes. */
const MAX_DEPS_BYTES = 32 * 1024 * 1024;
const DEPS_JSON = /(?:^|\/)[^/]+\.deps\.json$/;

export function isDepsJson(path: string): boolean {
  return path.endsWith(".deps.json") && DEPS_JSON.test(path);
}

/**
 * .NET applications through their `<app>.deps.json`: the NuGet packages and the bundled runtime
 * packs that ship files in the image (see deps-json.ts for what counts as shipping).
 * Version 2: runtime packs reported; libraries without runtime, native or resource assets dropped.
 */
export function createDotnetCataloger(): FileCataloger {
  return manifestCataloger({
    name: NAME,
    version: 2,
    matches: isDepsJson,
    maxBytes: MAX_DEPS_BYTES,
    parse: parseDepsJson,
  });
}
