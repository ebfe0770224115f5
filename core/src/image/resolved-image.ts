import { pipeline, type Readable } from "node:stream";
import { ImageError } from "../errors.js";
import { DigestVerifier } from "./digest.js";
import { FileBlob } from "./file-blob.js";
import type { MemberStore } from "./member-store.js";
import type { ImageConfig, LayerDescriptor, Platform, ResolvedImage } from "./types.js";

export interface StoredImage {
  reference: string;
  manifestDigest: string;
  configDigest: string;
  config: ImageConfig;
  /** From the index descriptor, used when the config omits os/architecture. */
  descriptorPlatform?: Platform;
  layers: LayerDescriptor[];
  /** Member holding each layer's blob, by layer index. */
  layerMembers: string[];
  store: MemberStore;
  /** Releases what the source holds (temp files); runs once. */
  release?: () => Promise<void>;
}

export function platformOfConfig(config: ImageConfig, fallback?: Platform): Platform {
  if (config.os && config.architecture) {
    return { os: config.os, architecture: config.architecture, ...(config.variant ? { variant: config.variant } : {}) };
  }
  return fallback ?? { os: "unknown", architecture: "unknown" };
}

/** Wraps a source's parsed image as a ResolvedImage whose layer streams verify their digest. */
export function toResolvedImage(image: StoredImage): ResolvedImage {
  let closed = false;
  return {
    reference: image.reference,
    manifestDigest: image.manifestDigest,
    configDigest: image.configDigest,
    platform: platformOfConfig(image.config, image.descriptorPlatform),
    config: image.config,
    layers: image.layers,
    async openLayer(index: number): Promise<Readable> {
      if (closed) throw new ImageError(`${image.reference}: the image was closed; reopen it to read layers`);
      const layer = image.layers[index];
      const member = image.layerMembers[index];
      if (!layer || member === undefined) {
        throw new ImageError(`${image.reference}: no layer ${index} (the image has ${image.layers.length})`);
      }
      // Nothing addresses this blob: its reader checks the diff_id (LayerDescriptor.verify).
      if (layer.verify === "diffId") return image.store.open(member);
      const what = `${image.store.label} layer ${index} (${member})`;
      // A blob in a file is read by position with its digest checked as it is read (no hashing stream).
      if (image.store.range) return FileBlob.open(image.store.range(member), layer.digest, what, layer.size);
      const verifier = new DigestVerifier(layer.digest, what, layer.size);
      // pipeline forwards a read error from the archive to the verifier, which the consumer holds.
      pipeline(image.store.open(member), verifier, () => {});
      return verifier;
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await image.release?.();
    },
  };
}
