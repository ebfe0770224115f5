import { buildPurl } from "../purl.js";
import type { FileCataloger } from "../types.js";
import { decodeText, manifestCataloger, type ManifestParse } from "../lang/manifest-cataloger.js";
import { parseGemspec } from "./gemspec.js";

const NAME = "ruby";
const MAX_GEMSPEC_BYTES = 1024 * 1024;
/** `gem install` writes `<gem dir>/specifications/<name>-<version>[-<platform>].gemspec`; default gems sit in default/. */
const INSTALLED_GEMSPEC = /(?:^|\/)specifications\/(?:default\/)?([^/]+)\.gemspec$/;

export function isInstalledGemspec(path: string): boolean {
  return path.endsWith(".gemspec") && INSTALLED_GEMSPEC.test(path);
}

export function parseInstalledGemspec(content: Buffer, path: string): ManifestParse {
  const facts = parseGemspec(decodeText(content));
  if (!facts.name || !facts.version) {
    // The file name carries both, but the split is ambiguous for names with digits after a dash.
    return { packages: [], problems: ["no literal name and version"] };
  }
  const { name, version } = facts;
  return {
    packages: [
      {
        name,
        version,
        type: "gem",
        ecosystem: "RubyGems",
        purl: buildPurl("gem", undefined, name, version),
        locations: [path],
        ...(facts.licenses ? { licenses: facts.licenses } : {}),
        ...(path.includes("/specifications/default/") ? { metadata: { defaultGem: true } } : {}),
      },
    ],
    problems: [],
  };
}

export function createRubyCataloger(): FileCataloger {
  return manifestCataloger({
    name: NAME,
    version: 1,
    matches: isInstalledGemspec,
    maxBytes: MAX_GEMSPEC_BYTES,
    parse: parseInstalledGemspec,
  });
}
