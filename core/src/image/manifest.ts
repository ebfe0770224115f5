import { ImageError } from "../errors.js";
import { parseDigest } from "./digest.js";
import { INDEX_MEDIA_TYPES, MANIFEST_MEDIA_TYPES, type ImageIndexLike } from "./platform.js";
import type { Descriptor, ImageConfig, LayerDescriptor } from "./types.js";

/** Manifests, indexes and configs are small; this caps what a crafted archive can make us buffer. */
export const MAX_METADATA_BYTES = 16 * 1024 * 1024;

const CONFIG_MEDIA_TYPES = new Set([
  "application/vnd.oci.image.config.v1+json",
  "application/vnd.docker.container.image.v1+json",
]);

export interface ImageManifest {
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
}

export function parseJson(data: Buffer, where: string): unknown {
  try {
    return JSON.parse(data.toString("utf8"));
  } catch (error) {
    throw new ImageError(
      `${where} is not valid JSON (${(error as Error).message}); the image is damaged or not an image`,
    );
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function asDescriptor(value: unknown, where: string): Descriptor {
  if (!isObject(value) || typeof value.digest !== "string" || typeof value.mediaType !== "string") {
    throw new ImageError(`${where}: a descriptor lacks mediaType or digest; the image metadata is malformed`);
  }
  parseDigest(value.digest, where);
  if (!Number.isSafeInteger(value.size) || (value.size as number) < 0) {
    throw new ImageError(`${where}: descriptor ${value.digest} has no valid size`);
  }
  return value as unknown as Descriptor;
}

export function asImageIndex(value: unknown, where: string): ImageIndexLike {
  if (!isObject(value)) throw new ImageError(`${where} is not a JSON object; the image index is malformed`);
  if (!Array.isArray(value.manifests)) {
    const looksLikeManifest = "layers" in value || "config" in value;
    throw new ImageError(
      looksLikeManifest
        ? `${where} is an image manifest, not an image index; the OCI layout is malformed`
        : `${where} has no "manifests" list; it is not an OCI image index`,
    );
  }
  return { manifests: value.manifests.map((m, i) => asDescriptor(m, `${where} manifests[${i}]`)) };
}

export function asImageManifest(value: unknown, where: string): ImageManifest {
  if (!isObject(value)) throw new ImageError(`${where} is not a JSON object; the manifest is malformed`);
  if (value.schemaVersion === 1) {
    throw new ImageError(
      `${where} is a Docker schema 1 manifest, which is not supported; re-push the image with a current Docker`,
    );
  }
  if (typeof value.mediaType === "string" && !MANIFEST_MEDIA_TYPES.has(value.mediaType)) {
    throw new ImageError(`${where} has media type ${value.mediaType}, not an image manifest`);
  }
  if (!Array.isArray(value.layers)) throw new ImageError(`${where} has no "layers" list; the manifest is malformed`);
  const config = asDescriptor(value.config, `${where} config`);
  if (!CONFIG_MEDIA_TYPES.has(config.mediaType)) {
    throw new ImageError(
      `${where}: config media type ${config.mediaType} is not a container image config (an OCI artifact?)`,
    );
  }
  return {
    ...(typeof value.mediaType === "string" ? { mediaType: value.mediaType } : {}),
    config,
    layers: value.layers.map((l, i) => asDescriptor(l, `${where} layers[${i}]`)),
  };
}

export function asImageConfig(value: unknown, where: string): ImageConfig {
  if (!isObject(value) || !isObject(value.rootfs) || !Array.isArray(value.rootfs.diff_ids)) {
    throw new ImageError(`${where} has no rootfs.diff_ids; it is not a container image config`);
  }
  value.rootfs.diff_ids.forEach((d, i) => {
    if (typeof d !== "string") throw new ImageError(`${where}: rootfs.diff_ids[${i}] is not a digest`);
    parseDigest(d, `${where} rootfs.diff_ids[${i}]`);
  });
  if (value.history !== undefined && !Array.isArray(value.history)) {
    throw new ImageError(`${where}: "history" is not a list`);
  }
  return value as unknown as ImageConfig;
}

export interface StoredLayer {
  digest: string;
  mediaType: string;
  size: number;
  /** See LayerDescriptor.verify. */
  verify?: "diffId";
}

/**
 * Joins stored blobs with the config's diff_ids. `created_by` is attached only when the
 * non-empty history entries align 1:1 with the layers: many builders (kaniko, buildah, squash)
 * write history that does not, and a shifted line would blame the wrong Dockerfile step.
 */
export function layerDescriptors(stored: StoredLayer[], config: ImageConfig, where: string): LayerDescriptor[] {
  const diffIds = config.rootfs.diff_ids;
  if (stored.length !== diffIds.length) {
    throw new ImageError(
      `${where}: the image has ${stored.length} layer blob(s) but its config lists ${diffIds.length} diff_ids; the image is incomplete or damaged`,
    );
  }
  const history = (config.history ?? []).filter((h) => h.empty_layer !== true);
  const aligned = history.length === diffIds.length;
  return stored.map((layer, index) => {
    const createdBy = aligned ? history[index]!.created_by : undefined;
    return {
      index,
      digest: layer.digest,
      diffId: diffIds[index]!,
      mediaType: layer.mediaType,
      size: layer.size,
      ...(layer.verify ? { verify: layer.verify } : {}),
      ...(createdBy ? { createdBy } : {}),
    };
  });
}

export function isIndexMediaType(mediaType: string | undefined): boolean {
  return mediaType !== undefined && INDEX_MEDIA_TYPES.has(mediaType);
}
