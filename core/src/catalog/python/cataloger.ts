import { buildPurl } from "../purl.js";
import type { FileCataloger, PackageCandidate } from "../types.js";
import { decodeText, manifestCataloger, type ManifestParse } from "../lang/manifest-cataloger.js";
import { LimitExceeded, incompleteWarning, warning } from "../warnings.js";
import { isZippedEgg, readZippedEgg } from "./egg.js";
import { firstHeader, licensesOf, normalizePythonName, parseMetadataHeaders } from "./metadata.js";

const NAME = "python";
/** Real METADATA files with long descriptions stay well under this; larger ones are not metadata. */
const MAX_METADATA_BYTES = 8 * 1024 * 1024;
/** Eggs carry a project's code; they are read through random access, so only absurd sizes are refused. */
const MAX_EGG_BYTES = 1024 ** 3;
/** Enough to diagnose a damaged file without flooding the report. */
const MAX_PROBLEMS_PER_FILE = 5;

/**
 * Installed distributions: wheels leave `<name>-<version>.dist-info/METADATA`; setuptools leaves
 * `<name>.egg-info/PKG-INFO`, a bare `<name>.egg-info` file (distutils and Debian's interpreter), or
 * an `.egg` directory with `EGG-INFO/PKG-INFO`.
 */
const INSTALLED_METADATA =
  /(?:^|\/)[^/]+(?:\.dist-info\/METADATA|\.egg-info\/PKG-INFO|\.egg-info|\.egg\/EGG-INFO\/PKG-INFO)$/;

/** `name-version[-pyX.Y[-platform]]` as the directory or file is named, for metadata without headers. */
const NAME_VERSION_STEM = /^([A-Za-z0-9][A-Za-z0-9._]*?)-(\d[^-]*)(?:-py\d.*)?$/;

export function isInstalledPythonMetadata(path: string): boolean {
  // Asked for every file of every layer: the suffix rules out nearly all of them before the regex runs.
  return (
    (path.endsWith("/METADATA") || path.endsWith("/PKG-INFO") || path.endsWith(".egg-info")) &&
    INSTALLED_METADATA.test(path)
  );
}

/** The dist-info / egg-info / egg directory (or bare egg-info file) name without its extension. */
const DISTRIBUTION_DIR = /([^/]+)\.(?:dist-info|egg-info|egg)(?:\/EGG-INFO)?(?:\/(?:METADATA|PKG-INFO))?$/;

/**
 * The bytes up to and including the first line break of the first empty line ("\n\n" or "\n\r\n"),
 * where the headers end at the latest: the long description after it (most of a METADATA file, and
 * sometimes hundreds of kilobytes) is never decoded. Cut after a "\n", so no character is split,
 * and the headers read from the cut are those read from the whole: parsing stops at that line anyway.
 */
function headerBytes(content: Buffer): Buffer {
  const lf = content.indexOf("\n\n");
  const crlf = content.indexOf("\n\r\n");
  const end = lf < 0 ? crlf : crlf < 0 ? lf : Math.min(lf, crlf);
  return end < 0 ? content : content.subarray(0, end + 1);
}

export function parsePythonMetadata(content: Buffer, path: string): ManifestParse {
  const headers = parseMetadataHeaders(decodeText(headerBytes(content)));
  let name = firstHeader(headers, "Name");
  let version = firstHeader(headers, "Version");
  if (!name || !version) {
    // Wheel installers name the directory after the distribution (PEP 427), so it stands in for missing headers.
    const stem = NAME_VERSION_STEM.exec(DISTRIBUTION_DIR.exec(path)?.[1] ?? "");
    name ??= stem?.[1];
    version ??= stem && name && normalizePythonName(stem[1]!) === normalizePythonName(name) ? stem[2] : undefined;
  }
  if (!name) return { packages: [], problems: ["no Name header"] };
  if (!version) return { packages: [], problems: [`no Version header for ${name}`] };
  const normalized = normalizePythonName(name);
  const candidate: PackageCandidate = {
    name: normalized,
    version,
    type: "pypi",
    ecosystem: "PyPI",
    purl: buildPurl("pypi", undefined, normalized, version),
    locations: [path],
  };
  const licenses = licensesOf(headers);
  if (licenses) candidate.licenses = licenses;
  if (normalized !== name) candidate.metadata = { declaredName: name };
  return { packages: [candidate], problems: [] };
}

/**
 * Installed Python distributions: metadata files in dist-info / egg-info / egg directories, and
 * zipped `.egg` files, whose EGG-INFO/PKG-INFO is read from inside the archive.
 * Version 2: zipped eggs.
 */
export function createPythonCataloger(): FileCataloger {
  const metadataFiles = manifestCataloger({
    name: NAME,
    version: 2,
    matches: isInstalledPythonMetadata,
    maxBytes: MAX_METADATA_BYTES,
    parse: parsePythonMetadata,
  });
  return {
    ...metadataFiles,
    wants: (path, size, mode) => metadataFiles.wants(path, size, mode) || (isZippedEgg(path) && size > 0),
    maxBytes: (path) => (isZippedEgg(path) ? MAX_EGG_BYTES : MAX_METADATA_BYTES),
    async analyze(file, context) {
      if (!isZippedEgg(file.path)) return metadataFiles.analyze(file, context);
      try {
        const { packages, problems } = await readZippedEgg(file, file.path, MAX_METADATA_BYTES, parsePythonMetadata);
        for (const problem of problems.slice(0, MAX_PROBLEMS_PER_FILE))
          context.warnings.push(warning(NAME, file.path, problem));
        return packages;
      } catch (error) {
        const message = (error as Error).message;
        context.warnings.push(
          error instanceof LimitExceeded
            ? incompleteWarning(file.path, `not read by ${NAME}: ${message}`)
            : warning(NAME, file.path, `unreadable: ${message}`),
        );
        return [];
      }
    },
  };
}
