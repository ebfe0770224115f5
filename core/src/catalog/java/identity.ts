import { parseManifestMainSection, parseProperties } from "./properties.js";
import { wellKnownGroupId } from "./well-known.js";

/** A pom.properties found inside an archive. */
export interface PomFacts {
  /** Entry path inside the archive (META-INF/maven/<g>/<a>/pom.properties). */
  entryPath: string;
  groupId: string;
  artifactId: string;
  version: string;
}

/** What one archive (top-level or nested) says about itself. */
export interface ArchiveFacts {
  /** Image path, with `!/` before each nested entry: `app.jar!/BOOT-INF/lib/x.jar`. */
  location: string;
  /** The archive's own file name (last path element). */
  fileName: string;
  poms: PomFacts[];
  /** MANIFEST.MF main section, keys lower-cased. */
  manifest?: Map<string, string>;
}

export type IdentitySource = "pom.properties" | "manifest" | "filename";

/**
 * Where the groupId came from: the archive's pom.properties, the table of well-known artifacts, or
 * nowhere ("none": the coordinate is incomplete, so matching by groupId:artifactId cannot apply).
 * Manifest headers are never a groupId's source: Bundle-SymbolicName is an OSGi name and
 * Implementation-Vendor-Id a vendor ("com.sun" on javax.activation, "org.apache" on commons-lang3).
 */
export type GroupIdSource = "pom.properties" | "well-known" | "none";

export interface JavaIdentity {
  groupId?: string;
  artifactId: string;
  version: string;
  identifiedBy: IdentitySource;
  groupIdSource: GroupIdSource;
  /** For packages read from a pom.properties: its entry path. */
  pomPath?: string;
  /** A pom.properties of some other artifact, shaded into this archive. */
  embedded?: boolean;
}

export function pomFacts(entryPath: string, content: Buffer): PomFacts | undefined {
  const properties = parseProperties(content.toString("utf8"));
  const groupId = properties.get("groupId")?.trim();
  const artifactId = properties.get("artifactId")?.trim();
  const version = properties.get("version")?.trim();
  if (!groupId || !artifactId || !version) return undefined;
  return { entryPath, groupId, artifactId, version };
}

export function manifestFacts(content: Buffer): Map<string, string> {
  return parseManifestMainSection(content.toString("utf8"));
}

const ARCHIVE_EXTENSION = /\.[A-Za-z]+$/;
/** `name-1.2.3.jar`, `guava-30.1-jre.jar`, `spring-core-5.3.9.RELEASE.jar`: a version starts with digits and a dot. */
const NAME_VERSION = /^([A-Za-z0-9][\w.-]*?)-(\d+(?:\.\d+)+(?:[.-][0-9A-Za-z]+)*)$/;
/** Manifest titles are often prose ("Apache Tomcat"); only id-shaped ones can be an artifactId. */
const ID_SHAPED = /^[A-Za-z0-9][\w.-]{0,99}$/;

function stem(fileName: string): string {
  return fileName.replace(ARCHIVE_EXTENSION, "");
}

export function fileNameIdentity(fileName: string): { artifactId: string; version: string } | undefined {
  const match = NAME_VERSION.exec(stem(fileName));
  return match ? { artifactId: match[1]!, version: match[2]! } : undefined;
}

/**
 * The pom.properties describing the archive itself (docs/matching-rules.md P14): the one whose artifactId the file is
 * named after (`<artifactId>-<version>` first, then the longest `<artifactId>-` prefix), else the
 * only one. Shaded jars carry several and are often renamed, so no guess is made beyond that.
 */
function ownPom(facts: ArchiveFacts): PomFacts | undefined {
  const name = stem(facts.fileName);
  const exact = facts.poms.find((pom) => name === `${pom.artifactId}-${pom.version}` || name === pom.artifactId);
  if (exact) return exact;
  const prefixed = facts.poms
    .filter((pom) => name.startsWith(`${pom.artifactId}-`))
    .sort((a, b) => b.artifactId.length - a.artifactId.length);
  if (prefixed[0]) return prefixed[0];
  return facts.poms.length === 1 ? facts.poms[0] : undefined;
}

/**
 * Identity from MANIFEST.MF when the archive has no pom.properties of its own. The artifactId is the
 * first id-shaped one of Implementation-Title, Bundle-Name, the versioned file name's, and
 * Specification-Title, else the file name itself (so a versioned jar whose titles are prose, like
 * Tomcat's `catalina.jar`, is still reported); the version Implementation-Version, Bundle-Version,
 * Specification-Version or the file name's. The groupId comes only from the well-known table.
 */
function manifestIdentity(facts: ArchiveFacts): JavaIdentity | undefined {
  const manifest = facts.manifest ?? new Map<string, string>();
  const idShaped = (value: string | undefined): string | undefined =>
    value && ID_SHAPED.test(value) ? value : undefined;
  const fromFileName = fileNameIdentity(facts.fileName);
  const manifestArtifact = idShaped(manifest.get("implementation-title")) ?? idShaped(manifest.get("bundle-name"));
  const artifactId =
    manifestArtifact ??
    fromFileName?.artifactId ??
    idShaped(manifest.get("specification-title")) ??
    idShaped(stem(facts.fileName));
  const manifestVersion =
    manifest.get("implementation-version") || manifest.get("bundle-version") || manifest.get("specification-version");
  const version = manifestVersion || fromFileName?.version;
  if (!artifactId || !version) return undefined;
  const groupId = wellKnownGroupId(artifactId);
  const usedManifest = (manifestArtifact !== undefined && artifactId === manifestArtifact) || !!manifestVersion;
  return {
    ...(groupId ? { groupId } : {}),
    artifactId,
    version,
    identifiedBy: usedManifest ? "manifest" : "filename",
    groupIdSource: groupId ? "well-known" : "none",
  };
}

function fromPom(pom: PomFacts, embedded: boolean): JavaIdentity {
  return {
    groupId: pom.groupId,
    artifactId: pom.artifactId,
    version: pom.version,
    identifiedBy: "pom.properties",
    groupIdSource: "pom.properties",
    pomPath: pom.entryPath,
    ...(embedded ? { embedded: true } : {}),
  };
}

/**
 * Every artifact one archive stands for: its own identity (pom.properties > MANIFEST.MF > file
 * name) and one per other pom.properties, which shaded and uber jars carry for what they absorbed.
 */
export function archiveIdentities(facts: ArchiveFacts): JavaIdentity[] {
  const own = ownPom(facts);
  const identities: JavaIdentity[] = [];
  if (own) {
    identities.push(fromPom(own, false));
  } else {
    const guessed = manifestIdentity(facts);
    // A weaker guess naming an artifact that a pom.properties in the same archive describes adds nothing.
    if (guessed && !facts.poms.some((pom) => pom.artifactId === guessed.artifactId)) identities.push(guessed);
  }
  for (const pom of facts.poms) if (pom !== own) identities.push(fromPom(pom, true));
  return identities;
}
