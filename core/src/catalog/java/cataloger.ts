import { buildPurl } from "../purl.js";
import type { FileCataloger, PackageCandidate } from "../types.js";
import { warning } from "../warnings.js";
import { DEFAULT_JAVA_LIMITS, JAVA_ARCHIVE, walkArchive, type ArchiveWalk, type JavaLimits } from "./archive.js";
import { archiveIdentities, type ArchiveFacts, type JavaIdentity } from "./identity.js";

const NAME = "java";
/** Enough to diagnose a hostile archive without flooding the report. */
const MAX_PROBLEMS_PER_FILE = 10;

export interface JavaCatalogerOptions {
  limits?: Partial<JavaLimits>;
  /** Where nested archives too big for memory are spilled; the system temp dir by default. */
  tempDir?: string;
}

function toPackage(identity: JavaIdentity, facts: ArchiveFacts): PackageCandidate {
  const { groupId, artifactId, version } = identity;
  const metadata: Record<string, unknown> = {
    ...(groupId ? { groupId } : {}),
    artifactId,
    identifiedBy: identity.identifiedBy,
    groupIdSource: identity.groupIdSource,
  };
  // Without a groupId the Maven coordinate is incomplete: say so, rather than let a reader assume one.
  if (!groupId) metadata.incompleteCoordinates = true;
  if (identity.pomPath) metadata.pomProperties = identity.pomPath;
  if (identity.embedded) metadata.embedded = true;
  return {
    name: groupId ? `${groupId}:${artifactId}` : artifactId,
    version,
    type: "maven",
    ecosystem: "Maven",
    // Maven purls require a namespace; without a groupId the purl stays empty rather than invented.
    purl: groupId ? buildPurl("maven", groupId, artifactId, version) : "",
    locations: [facts.location],
    metadata,
  };
}

/**
 * Java archives (jar, war, ear and the plugin/resource variants) with everything nested in them,
 * read through random access so a large war is never loaded whole.
 * Version 2: groupIds only from pom.properties or the well-known table (never from manifest
 * headers), `groupIdSource`/`incompleteCoordinates` metadata, versioned manifest-only jars kept.
 */
export function createJavaCataloger(options: JavaCatalogerOptions = {}): FileCataloger {
  const limits: JavaLimits = { ...DEFAULT_JAVA_LIMITS, ...options.limits };
  return {
    kind: "file",
    name: NAME,
    version: 2,
    wants: (path, size) => size > 0 && JAVA_ARCHIVE.test(path),
    async analyze(file, context) {
      const walk: ArchiveWalk = {
        limits,
        ...((options.tempDir ?? context.tempDir) ? { tempDir: (options.tempDir ?? context.tempDir)! } : {}),
        facts: [],
        problems: [],
        inflatedBytes: 0,
        nestedArchives: 0,
      };
      try {
        await walkArchive(file, file.path, walk, 0);
      } catch (error) {
        context.warnings.push(warning(NAME, file.path, `not a readable archive: ${(error as Error).message}`));
      }
      for (const problem of walk.problems.slice(0, MAX_PROBLEMS_PER_FILE))
        context.warnings.push(warning(NAME, problem.location, problem.message));
      if (walk.problems.length > MAX_PROBLEMS_PER_FILE)
        context.warnings.push(
          warning(NAME, file.path, `${walk.problems.length - MAX_PROBLEMS_PER_FILE} more problems not shown`),
        );
      return walk.facts.flatMap((facts) => archiveIdentities(facts).map((identity) => toPackage(identity, facts)));
    },
  };
}
