import { buildPurl } from "../purl.js";
import type { FileCataloger, PackageCandidate } from "../types.js";
import { incompleteWarning, warning } from "../warnings.js";
import { EntryCountError } from "./zip-reader.js";
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
 * Version 3: content a limit kept unread (bombs, depth, entry counts) is an `inventory-incomplete` warning.
 */
export function createJavaCataloger(options: JavaCatalogerOptions = {}): FileCataloger {
  const limits: JavaLimits = { ...DEFAULT_JAVA_LIMITS, ...options.limits };
  return {
    kind: "file",
    name: NAME,
    version: 3,
    // Every extension is three letters: the dot four from the end rules out most files before the regex.
    wants: (path, size) => size > 0 && path.charCodeAt(path.length - 4) === 46 && JAVA_ARCHIVE.test(path),
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
        const message = (error as Error).message;
        context.warnings.push(
          error instanceof EntryCountError
            ? incompleteWarning(file.path, `not read by ${NAME}: ${message}`)
            : warning(NAME, file.path, `not a readable archive: ${message}`),
        );
      }
      // Limits that kept content unread come first and stay machine-readable, so the gate sees them.
      const problems = [...walk.problems].sort((a, b) => Number(b.incomplete ?? false) - Number(a.incomplete ?? false));
      for (const problem of problems.slice(0, MAX_PROBLEMS_PER_FILE))
        context.warnings.push(
          problem.incomplete
            ? incompleteWarning(problem.location, `not read by ${NAME}: ${problem.message}`)
            : warning(NAME, problem.location, problem.message),
        );
      const hidden = problems.slice(MAX_PROBLEMS_PER_FILE);
      if (hidden.length > 0) {
        const text = `${hidden.length} more problems not shown`;
        context.warnings.push(
          hidden.some((problem) => problem.incomplete)
            ? incompleteWarning(file.path, `not read by ${NAME} in full: ${text}`)
            : warning(NAME, file.path, text),
        );
      }
      return walk.facts.flatMap((facts) => archiveIdentities(facts).map((identity) => toPackage(identity, facts)));
    },
  };
}
