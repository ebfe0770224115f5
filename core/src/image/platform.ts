import { ImageError, quoteInput, quoteInputs } from "../errors.js";
import type { Descriptor, Platform } from "./types.js";

/** Used when the user passes no --platform, documented as such rather than taken from the host. */
export const DEFAULT_PLATFORM: Platform = { os: "linux", architecture: "amd64" };

export const INDEX_MEDIA_TYPES = new Set([
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
]);
export const MANIFEST_MEDIA_TYPES = new Set([
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json",
]);

const ARCH_ALIASES: Record<string, string> = { x86_64: "amd64", "x86-64": "amd64", aarch64: "arm64" };

/** Fills in the variants registries leave out (arm64 = v8, arm = v7) so comparisons are exact. */
export function normalizePlatform(platform: Platform): Platform {
  const os = platform.os.toLowerCase();
  const architecture = ARCH_ALIASES[platform.architecture.toLowerCase()] ?? platform.architecture.toLowerCase();
  let variant = platform.variant?.toLowerCase() || undefined;
  if (architecture === "arm64" && variant === undefined) variant = "v8";
  if (architecture === "arm" && variant === undefined) variant = "v7";
  return variant ? { os, architecture, variant } : { os, architecture };
}

/** Parses `os/arch[/variant]` (or a bare arch, meaning linux). */
export function parsePlatform(text: string): Platform {
  const parts = text.trim().split("/");
  const valid = parts.length >= 1 && parts.length <= 3 && parts.every((p) => /^[A-Za-z0-9_.-]+$/.test(p));
  if (!valid) {
    throw new ImageError(`platform ${quoteInput(text)} is not OS/ARCH[/VARIANT], e.g. linux/amd64 or linux/arm64/v8`);
  }
  const [os, architecture, variant] = parts.length === 1 ? ["linux", parts[0]!] : parts;
  return normalizePlatform({ os: os!, architecture: architecture!, ...(variant ? { variant } : {}) });
}

export function formatPlatform(platform: Platform): string {
  const p = normalizePlatform(platform);
  return [p.os, p.architecture, p.variant].filter(Boolean).join("/");
}

/** A wanted platform without a variant accepts any variant of that architecture. */
export function platformMatches(candidate: Platform, wanted: Platform): boolean {
  const c = normalizePlatform(candidate);
  const w = normalizePlatform(wanted);
  if (c.os !== w.os || c.architecture !== w.architecture) return false;
  return comparesVariant(wanted) ? c.variant === w.variant : true;
}

function comparesVariant(platform: Platform): boolean {
  // arm64/arm variants are filled in by normalisation, so they are always compared.
  const arch = normalizePlatform(platform).architecture;
  return Boolean(platform.variant) || arch === "arm64" || arch === "arm";
}

/** buildx provenance/SBOM attestations sit beside the images in an index; they are not images. */
export function isAttestation(descriptor: Descriptor): boolean {
  if (descriptor.annotations?.["vnd.docker.reference.type"] === "attestation-manifest") return true;
  const p = descriptor.platform;
  return p?.os === "unknown" && p.architecture === "unknown";
}

export interface ImageIndexLike {
  manifests: Descriptor[];
}

export interface SelectManifestOptions {
  /** Names the image in errors ("… in <reference>"). */
  reference: string;
  /** Fetches and parses a nested index. */
  fetchIndex(descriptor: Descriptor): Promise<ImageIndexLike>;
  /**
   * False for manifests whose blobs the source does not hold (containerd exports a single
   * platform but keeps the full index); such entries are never selected.
   */
  isAvailable?(descriptor: Descriptor): boolean;
  /** Platform of an image manifest whose descriptor carries none (plain OCI layouts), from its config. */
  platformOf?(descriptor: Descriptor): Promise<Platform | undefined>;
}

const MAX_INDEX_DEPTH = 4;

/**
 * Picks the image manifest for `wanted` from an index, skipping attestations and recursing into
 * nested indexes. `wanted` undefined means "the default": linux/amd64, except that an index
 * holding exactly one image yields that image (like a single-platform push, which buildx turns
 * into an index only to carry attestations).
 */
export async function selectManifest(
  index: ImageIndexLike,
  wanted: Platform | undefined,
  options: SelectManifestOptions,
): Promise<Descriptor> {
  const images: Descriptor[] = [];
  const unavailable: Descriptor[] = [];
  await collect(index, 0, new Set(), images, unavailable, options);

  const seen = new Set<string>();
  const distinct = images.filter((d) => !seen.has(d.digest) && seen.add(d.digest));
  if (distinct.length === 0) {
    const extra = unavailable.length
      ? `; the index lists ${describeList(unavailable)} but their blobs are not present`
      : "";
    throw new ImageError(`${options.reference}: the index holds no image manifest${extra}`);
  }
  if (wanted === undefined && distinct.length === 1) return distinct[0]!;

  const target = wanted ?? DEFAULT_PLATFORM;
  const withPlatforms: { descriptor: Descriptor; platform?: Platform }[] = [];
  for (const descriptor of distinct) {
    const platform = descriptor.platform ?? (await options.platformOf?.(descriptor));
    if (platform && platformMatches(platform, target)) return descriptor;
    withPlatforms.push({ descriptor, platform });
  }
  const available = withPlatforms.map((c) => (c.platform ? formatPlatform(c.platform) : "unknown platform"));
  const missing = unavailable.length
    ? ` (the index also lists ${describeList(unavailable)}, whose blobs are not in this source)`
    : "";
  throw new ImageError(
    `no image for ${formatPlatform(target)} in ${options.reference}; available: ${quoteInputs([...new Set(available)])}${missing}; pass --platform`,
  );
}

function describeList(descriptors: Descriptor[]): string {
  const names = [...new Set(descriptors.map((d) => (d.platform ? formatPlatform(d.platform) : d.digest)))];
  return quoteInputs(names);
}

async function collect(
  index: ImageIndexLike,
  depth: number,
  visited: Set<string>,
  images: Descriptor[],
  unavailable: Descriptor[],
  options: SelectManifestOptions,
): Promise<void> {
  for (const descriptor of index.manifests) {
    if (isAttestation(descriptor)) continue;
    if (INDEX_MEDIA_TYPES.has(descriptor.mediaType)) {
      if (visited.has(descriptor.digest) || depth >= MAX_INDEX_DEPTH) {
        throw new ImageError(`${options.reference}: image indexes nest too deeply or refer to themselves; refusing it`);
      }
      if (options.isAvailable && !options.isAvailable(descriptor)) {
        unavailable.push(descriptor);
        continue;
      }
      visited.add(descriptor.digest);
      await collect(await options.fetchIndex(descriptor), depth + 1, visited, images, unavailable, options);
      visited.delete(descriptor.digest);
    } else if (MANIFEST_MEDIA_TYPES.has(descriptor.mediaType)) {
      if (options.isAvailable && !options.isAvailable(descriptor)) unavailable.push(descriptor);
      else images.push(descriptor);
    }
    // Other media types (artifacts, schema 1, junk) are not container images: ignored.
  }
}
