import type { Readable } from "node:stream";
import { ImageError } from "../../errors.js";
import {
  asImageConfig,
  asImageIndex,
  asImageManifest,
  isIndexMediaType,
  layerDescriptors,
  MAX_METADATA_BYTES,
  parseJson,
} from "../manifest.js";
import { selectManifest } from "../platform.js";
import type { RegistryReference } from "../reference.js";
import { platformOfConfig } from "../resolved-image.js";
import type { Descriptor, ResolvedImage, ResolveOptions } from "../types.js";
import { RegistryClient, type FetchedManifest, type RegistryClientOptions } from "./client.js";

export type RegistryImageReference = RegistryReference;

export function formatRegistryReference(ref: RegistryImageReference): string {
  return `${ref.registry}/${ref.repository}${ref.tag ? `:${ref.tag}` : ""}${ref.digest ? `@${ref.digest}` : ""}`;
}

export interface OpenRegistryImageOptions extends ResolveOptions {
  /** The reference as the user typed it, for ResolvedImage.reference and messages. */
  reference?: string;
  /** Knobs tests and inventory callers use (retry delays, token cache, clock, limits). */
  client?: Omit<RegistryClientOptions, keyof NonNullable<ResolveOptions["registry"]>>;
}

function isIndex(manifest: FetchedManifest): boolean {
  return (
    isIndexMediaType(manifest.mediaType) || (Array.isArray(manifest.json["manifests"]) && !("layers" in manifest.json))
  );
}

/**
 * Resolves `ref` on its registry to one platform's image: the manifest (through an index when
 * multi-arch), its config and its layers, whose blobs stream from the registry on demand.
 */
export async function openRegistryImage(
  ref: RegistryImageReference,
  options: OpenRegistryImageOptions = {},
): Promise<ResolvedImage> {
  const client = new RegistryClient(ref.registry, { ...options.registry, ...options.client });
  try {
    return await resolve(client, ref, options);
  } catch (error) {
    client.close();
    throw error;
  }
}

async function resolve(
  client: RegistryClient,
  ref: RegistryImageReference,
  options: OpenRegistryImageOptions,
): Promise<ResolvedImage> {
  const reference = options.reference ?? formatRegistryReference(ref);
  const repository = ref.repository;
  const top = await client.getManifest(repository, ref.digest ?? ref.tag ?? "latest");

  let manifest = top;
  let descriptorPlatform: Descriptor["platform"];
  if (isIndex(top)) {
    const index = asImageIndex(top.json, `index of ${reference}`);
    const chosen = await selectManifest(index, options.platform, {
      reference,
      fetchIndex: async (descriptor) => {
        const nested = await client.getManifest(repository, descriptor.digest);
        return asImageIndex(nested.json, `index ${descriptor.digest} of ${reference}`);
      },
    });
    manifest = await client.getManifest(repository, chosen.digest);
    descriptorPlatform = chosen.platform;
  }
  if (isIndex(manifest)) throw new ImageError(`${reference}: expected an image manifest but got another index`);

  const where = `manifest ${manifest.digest} of ${reference}`;
  const image = asImageManifest(manifest.json, where);
  const configBlob = await client.getBlob(repository, image.config.digest, image.config.size, MAX_METADATA_BYTES);
  const config = asImageConfig(parseJson(configBlob, `config of ${reference}`), `config of ${reference}`);
  const layers = layerDescriptors(image.layers, config, reference);

  let closed = false;
  return {
    reference,
    manifestDigest: manifest.digest,
    referenceDigest: top.digest,
    configDigest: image.config.digest,
    platform: platformOfConfig(config, descriptorPlatform),
    config,
    layers,
    async openLayer(index: number): Promise<Readable> {
      if (closed) throw new ImageError(`${reference}: the image was closed; reopen it to read layers`);
      const layer = layers[index];
      if (!layer) throw new ImageError(`${reference}: no layer ${index} (the image has ${layers.length})`);
      return client.openBlob(repository, layer.digest, layer.size);
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      client.close();
    },
  };
}
