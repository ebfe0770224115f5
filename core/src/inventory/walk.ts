import { StowawayError } from "../errors.js";
import { asImageIndex, isIndexMediaType } from "../image/manifest.js";
import { formatPlatform, isAttestation, platformMatches } from "../image/platform.js";
import type { RegistryClient } from "../image/registry/client.js";
import type { Platform } from "../image/types.js";
import { globMatch } from "../policy/glob.js";

/** One tag that points at an image (directly, or through an index). */
export interface TagSighting {
  repository: string;
  tag: string;
  /** The index the tag names when the image is one platform of it. */
  indexDigest?: string;
}

/** One unique image manifest to scan, with every tag (in any repository) that reaches it. */
export interface ImageTarget {
  registry: string;
  /** Where its blobs are pulled from: the first repository it was found in. */
  repository: string;
  digest: string;
  /** From the index descriptor, when there was one. */
  platform?: string;
  tags: TagSighting[];
}

export interface WalkProblem {
  /** "repo:tag" or "repo" or "catalog". */
  what: string;
  message: string;
}

export interface WalkOptions {
  /** Repository prefix: "team" covers team and team/*; a whole repository name works too. */
  prefix?: string;
  /** Glob over tag names (`*`, `?`). */
  tags?: string;
  /** Only this platform of multi-arch indexes; default every platform (attestations never). */
  platform?: Platform;
  onProblem?: (problem: WalkProblem) => void;
}

export interface WalkResult {
  repositories: string[];
  images: ImageTarget[];
  /** Tags that could not be resolved (reported, the walk goes on). */
  problems: WalkProblem[];
}

/** The distribution spec's grammar; a registry answering anything else is not trusted with our logs or URLs. */
const REPOSITORY_NAME = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;
const TAG_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;

const IMAGE_CONFIG_TYPES = new Set([
  "application/vnd.oci.image.config.v1+json",
  "application/vnd.docker.container.image.v1+json",
]);

/**
 * Artifacts stored beside images are not images: cosign signatures (`sha256-<hex>.sig`, simple-signing
 * layers), attestations and SBOMs (`.att`, `.sbom`), Notation signatures and other OCI 1.1 referrers
 * (`artifactType`, an empty or foreign config), the referrers tag schema's index, Helm charts. They are
 * skipped like buildx attestations instead of failing as "not a readable layer tar" (docs/trust.md §2).
 */
function isArtifact(json: Record<string, unknown>): boolean {
  if (typeof json["artifactType"] === "string") return true;
  const config = json["config"] as { mediaType?: unknown } | undefined;
  if (typeof config?.mediaType === "string" && !IMAGE_CONFIG_TYPES.has(config.mediaType)) return true;
  const layers = json["layers"];
  return (
    Array.isArray(layers) &&
    layers.some(
      // Signature payloads, in-toto statements, SBOM documents: JSON, never a filesystem layer.
      (layer: { mediaType?: unknown }) => typeof layer?.mediaType === "string" && /json$/.test(layer.mediaType),
    )
  );
}

function underPrefix(repository: string, prefix: string | undefined): boolean {
  if (!prefix) return true;
  return repository === prefix || repository.startsWith(`${prefix.replace(/\/+$/, "")}/`);
}

/**
 * Repositories under `prefix`. /v2/_catalog first; registries without one (Docker Hub) or that
 * hide it from this user answer an error, and then the prefix is taken as the repository itself.
 */
async function repositoriesOf(
  client: RegistryClient,
  options: WalkOptions,
  report: (problem: WalkProblem) => void,
): Promise<string[]> {
  let listed: string[] = [];
  try {
    listed = (await client.listRepositories()).filter((repository) => underPrefix(repository, options.prefix));
  } catch (error) {
    if (!options.prefix) {
      throw new StowawayError(
        `${client.host} does not list its repositories (${(error as Error).message}); name one: REGISTRY/REPOSITORY (Docker Hub has no catalog)`,
      );
    }
    report({ what: "catalog", message: `catalog unavailable, scanning ${options.prefix} as a repository` });
  }
  if (listed.length === 0 && options.prefix) listed = [options.prefix];
  const valid = listed.filter((repository) => REPOSITORY_NAME.test(repository));
  if (valid.length < listed.length) {
    report({
      what: "catalog",
      message: `${listed.length - valid.length} repository names that are not valid distribution names were skipped`,
    });
  }
  return [...new Set(valid)].sort();
}

/**
 * Walks a registry: repositories (catalog, paginated), their tags (paginated), each tag resolved
 * to its manifest digest and, for an index, to one digest per platform. Each digest appears once,
 * with all its tags. Only manifests are fetched, never a blob.
 */
export async function walkRegistry(client: RegistryClient, options: WalkOptions = {}): Promise<WalkResult> {
  const problems: WalkProblem[] = [];
  const report = (problem: WalkProblem) => {
    problems.push(problem);
    options.onProblem?.(problem);
  };
  const repositories = await repositoriesOf(client, options, report);
  const images = new Map<string, ImageTarget>();
  const add = (repository: string, digest: string, sighting: TagSighting, platform?: string) => {
    const known = images.get(digest);
    if (known) known.tags.push(sighting);
    else
      images.set(digest, {
        registry: client.host,
        repository,
        digest,
        ...(platform ? { platform } : {}),
        tags: [sighting],
      });
  };
  for (const repository of repositories) {
    let tags: string[];
    try {
      tags = await client.listTags(repository);
    } catch (error) {
      report({ what: repository, message: (error as Error).message });
      continue;
    }
    const invalid = tags.filter((name) => !TAG_NAME.test(name)).length;
    if (invalid > 0) report({ what: repository, message: `${invalid} tags that are not valid tag names were skipped` });
    const wanted = tags.filter((name) => TAG_NAME.test(name) && (!options.tags || globMatch(options.tags, name)));
    for (const tag of [...new Set(wanted)].sort()) {
      try {
        const top = await client.getManifest(repository, tag);
        const isIndex =
          isIndexMediaType(top.mediaType) || (Array.isArray(top.json["manifests"]) && !("layers" in top.json));
        if (!isIndex) {
          if (isArtifact(top.json)) continue;
          add(repository, top.digest, { repository, tag });
          continue;
        }
        const index = asImageIndex(top.json, `index of ${repository}:${tag}`);
        for (const descriptor of index.manifests) {
          if (isAttestation(descriptor) || isIndexMediaType(descriptor.mediaType) || descriptor.artifactType) continue;
          if (options.platform && descriptor.platform && !platformMatches(descriptor.platform, options.platform)) {
            continue;
          }
          add(
            repository,
            descriptor.digest,
            { repository, tag, indexDigest: top.digest },
            descriptor.platform ? formatPlatform(descriptor.platform) : undefined,
          );
        }
      } catch (error) {
        report({ what: `${repository}:${tag}`, message: (error as Error).message });
      }
    }
  }
  return { repositories, images: [...images.values()], problems };
}
