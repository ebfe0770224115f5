import { ImageError } from "../errors.js";
import { openArchive } from "./archive-file.js";
import { resolveDockerArchive } from "./docker-archive.js";
import { DirectoryStore } from "./member-store.js";
import { formatPlatform, platformMatches } from "./platform.js";
import { resolveOciLayout } from "./oci-layout.js";
import { detectArchiveKind, parseTarget, type Target } from "./reference.js";
import type { ResolvedImage, ResolveOptions } from "./types.js";

/**
 * Opens the image a TARGET names (or a parsed Target), resolved to one platform.
 *
 * One rule for every source and front end (docs/matching-rules.md §1.3): without a requested
 * platform, a multi-platform index yields linux/amd64 and a single-platform image is scanned as
 * what it is; a requested platform must match, or the image is refused in one line.
 */
export async function openImage(target: Target | string, options: ResolveOptions = {}): Promise<ResolvedImage> {
  const image = await openAnyPlatform(target, options);
  const wanted = options.platform;
  const actual = image.platform;
  const known = actual.os !== "unknown" && actual.architecture !== "unknown";
  if (wanted && known && !platformMatches(actual, wanted)) {
    await image.close();
    throw new ImageError(
      `${image.reference} is a ${formatPlatform(actual)} image with no ${formatPlatform(wanted)} variant; pass --platform ${formatPlatform(actual)}, or leave --platform out to scan the image as it is`,
    );
  }
  return image;
}

async function openAnyPlatform(target: Target | string, options: ResolveOptions): Promise<ResolvedImage> {
  const parsed = typeof target === "string" ? parseTarget(target) : target;
  switch (parsed.kind) {
    case "registry": {
      // The HTTP stack is loaded only for registry targets, so archive scans start faster.
      const { openRegistryImage } = await import("./registry/index.js");
      return openRegistryImage(parsed.ref, { ...options, reference: parsed.reference });
    }
    case "sbom":
      throw new ImageError(
        `${parsed.reference}: an SBOM is not an image; it is read by the SBOM input, not opened as an image`,
      );
    case "oci-dir":
      return resolveOciLayout(new DirectoryStore(parsed.path), {
        reference: parsed.reference,
        ...(parsed.tag ? { tag: parsed.tag } : {}),
        ...(parsed.digest ? { digest: parsed.digest } : {}),
        ...(options.platform ? { platform: options.platform } : {}),
      });
    case "docker-archive":
    case "oci-archive":
    case "archive":
      return openArchiveImage(parsed.kind, parsed.path, parsed.reference, options);
  }
}

async function openArchiveImage(
  kind: "docker-archive" | "oci-archive" | "archive",
  file: string,
  reference: string,
  options: ResolveOptions,
): Promise<ResolvedImage> {
  const { store, release } = await openArchive(file, options.tempDir ? { tempDir: options.tempDir } : {});
  try {
    const names = store.names();
    const format = kind === "archive" ? detectArchiveKind(names, file) : kind;
    // Docker 25+ `docker save` is an OCI layout plus manifest.json; the OCI side has real manifest digests.
    const useOci = format === "oci-archive" || (names.has("index.json") && names.has("oci-layout"));
    if (useOci) {
      return await resolveOciLayout(store, {
        reference,
        release,
        ...(options.platform ? { platform: options.platform } : {}),
      });
    }
    return await resolveDockerArchive(store, { reference, release });
  } catch (error) {
    await release();
    throw error;
  }
}
