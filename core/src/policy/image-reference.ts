import { DOCKER_HUB_REGISTRY, parseRegistryReference, type RegistryReference } from "../image/reference.js";

const LOCAL_PREFIX = /^(?:docker-archive|oci-archive|oci|oci-dir|sbom):/;
const REGISTRY_PREFIX = /^(?:docker:\/\/|registry:\/\/|registry:)/;
const ARCHIVE_SUFFIX = /\.(?:tar|tar\.gz|tgz|tar\.zst|tar\.xz)$/i;

export type ImageOrigin =
  { kind: "registry"; ref: RegistryReference; tagWritten: boolean } | { kind: "local" } | { kind: "invalid" };

/**
 * Where a scanned image came from, judged from the reference text alone (evaluation must not touch
 * the filesystem). Archives and layouts have no registry, so registry and tag rules do not apply.
 */
export function imageOrigin(reference: string): ImageOrigin {
  const text = reference.trim();
  if (LOCAL_PREFIX.test(text) || /^(?:\/|\.{1,2}\/|~)/.test(text) || ARCHIVE_SUFFIX.test(text)) {
    return { kind: "local" };
  }
  const bare = text.replace(REGISTRY_PREFIX, "");
  // The parser fills in "latest" for a missing tag; the rule needs to know whether it was written.
  const name = bare.split("@")[0]!;
  const tagWritten = name.lastIndexOf(":") > name.lastIndexOf("/");
  try {
    return { kind: "registry", ref: parseRegistryReference(bare), tagWritten };
  } catch {
    return { kind: "invalid" };
  }
}

const DOCKER_HUB_NAMES = new Set(["docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"]);

/** Users write "docker.io"; references resolve to the API host. */
export function normaliseRegistry(host: string): string {
  const lower = host.toLowerCase();
  return DOCKER_HUB_NAMES.has(lower) ? DOCKER_HUB_REGISTRY : lower;
}
