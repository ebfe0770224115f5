import { ImageError, quoteInput, quoteInputs } from "../errors.js";
import { parseDigest, verifyDigest } from "./digest.js";
import {
  MAX_METADATA_BYTES,
  asImageConfig,
  asImageIndex,
  asImageManifest,
  isIndexMediaType,
  layerDescriptors,
  parseJson,
} from "./manifest.js";
import type { MemberStore } from "./member-store.js";
import { selectManifest, type ImageIndexLike } from "./platform.js";
import { platformOfConfig, toResolvedImage } from "./resolved-image.js";
import type { Descriptor, ImageConfig, Platform, ResolvedImage } from "./types.js";

const REF_NAME = "org.opencontainers.image.ref.name";

export interface OciLayoutOptions {
  reference: string;
  tag?: string;
  digest?: string;
  /** Undefined = default (see selectManifest). */
  platform?: Platform;
  release?: () => Promise<void>;
}

export function blobMember(digest: string): string {
  const { algorithm, hex } = parseDigest(digest, "blob digest");
  return `blobs/${algorithm}/${hex}`;
}

/** Reads a metadata blob and checks both its size and digest against the descriptor. */
export async function readBlob(store: MemberStore, descriptor: Descriptor, what: string): Promise<Buffer> {
  const member = blobMember(descriptor.digest);
  const size = store.size(member);
  if (size === undefined) {
    throw new ImageError(`${store.label}: ${what} blob ${member} is missing; the image is incomplete, re-export it`);
  }
  if (size !== descriptor.size) {
    throw new ImageError(
      `${store.label}: ${what} blob ${member} is ${size} bytes but its descriptor declares ${descriptor.size}; the image is damaged or was modified`,
    );
  }
  const data = await store.read(member, MAX_METADATA_BYTES);
  verifyDigest(data, descriptor.digest, `${store.label}: ${what} ${member}`);
  return data;
}

async function readIndex(store: MemberStore, descriptor: Descriptor): Promise<ImageIndexLike> {
  const data = await readBlob(store, descriptor, "index");
  return asImageIndex(
    parseJson(data, `${store.label}: index ${descriptor.digest}`),
    `${store.label}: index ${descriptor.digest}`,
  );
}

/** Resolves one image from an OCI image layout (directory or archive), following nested indexes. */
export async function resolveOciLayout(store: MemberStore, options: OciLayoutOptions): Promise<ResolvedImage> {
  if (store.size("index.json") === undefined) {
    throw new ImageError(`${store.label}: index.json is missing; this is not an OCI image layout`);
  }
  const where = `${store.label}: index.json`;
  const top = asImageIndex(parseJson(await store.read("index.json", MAX_METADATA_BYTES), where), where);
  const candidates = await narrow(store, top, options);
  const has = (d: Descriptor) => store.size(blobMember(d.digest)) !== undefined;
  const chosen = await selectManifest(candidates, options.platform, {
    reference: options.reference,
    fetchIndex: (d) => readIndex(store, d),
    isAvailable: has,
    platformOf: async (d) => platformOfConfig((await readImage(store, d)).config, undefined),
  });
  const { manifest, config, configDigest } = await readImage(store, chosen);
  for (const [i, layer] of manifest.layers.entries()) {
    const size = store.size(blobMember(layer.digest));
    const what = `${store.label}: layer ${i} blob ${blobMember(layer.digest)}`;
    if (size === undefined) throw new ImageError(`${what} is missing; the image is incomplete, re-export it`);
    if (size !== layer.size) {
      throw new ImageError(
        `${what} is ${size} bytes but the manifest declares ${layer.size}; the image is damaged or was modified`,
      );
    }
  }
  return toResolvedImage({
    reference: options.reference,
    manifestDigest: chosen.digest,
    configDigest,
    config,
    ...(chosen.platform ? { descriptorPlatform: chosen.platform } : {}),
    layers: layerDescriptors(manifest.layers, config, `${store.label}: manifest ${chosen.digest}`),
    layerMembers: manifest.layers.map((l) => blobMember(l.digest)),
    store,
    ...(options.release ? { release: options.release } : {}),
  });
}

async function readImage(
  store: MemberStore,
  descriptor: Descriptor,
): Promise<{ manifest: ReturnType<typeof asImageManifest>; config: ImageConfig; configDigest: string }> {
  const where = `${store.label}: manifest ${descriptor.digest}`;
  const manifest = asImageManifest(parseJson(await readBlob(store, descriptor, "manifest"), where), where);
  const configWhere = `${store.label}: config ${manifest.config.digest}`;
  const config = asImageConfig(parseJson(await readBlob(store, manifest.config, "config"), configWhere), configWhere);
  return { manifest, config, configDigest: manifest.config.digest };
}

/** Applies the user's tag or digest to index.json's entries before platform selection. */
async function narrow(store: MemberStore, top: ImageIndexLike, options: OciLayoutOptions): Promise<ImageIndexLike> {
  if (options.digest) {
    const found = await findDigest(store, top, options.digest, 0);
    if (!found)
      throw new ImageError(`${store.label}: no manifest or index with digest ${options.digest} in this layout`);
    return { manifests: [found] };
  }
  if (options.tag) {
    const tag = options.tag;
    const exact = top.manifests.filter((d) => d.annotations?.[REF_NAME] === tag);
    // Some tools (buildah, podman) store the full name ("localhost/app:1.0") as ref.name.
    const matches = exact.length ? exact : top.manifests.filter((d) => d.annotations?.[REF_NAME]?.endsWith(`:${tag}`));
    if (matches.length === 0) {
      const tags = top.manifests.map((d) => d.annotations?.[REF_NAME]).filter((t): t is string => Boolean(t));
      throw new ImageError(
        `${store.label}: no image tagged ${quoteInput(tag)}; ${tags.length ? `tags present: ${quoteInputs([...new Set(tags)])}` : "the layout has no tags, omit the tag or use @DIGEST"}`,
      );
    }
    return { manifests: matches };
  }
  return top;
}

async function findDigest(
  store: MemberStore,
  index: ImageIndexLike,
  digest: string,
  depth: number,
): Promise<Descriptor | undefined> {
  const direct = index.manifests.find((d) => d.digest === digest);
  if (direct || depth >= 4) return direct;
  for (const d of index.manifests) {
    if (isIndexMediaType(d.mediaType) && store.size(blobMember(d.digest)) !== undefined) {
      const found = await findDigest(store, await readIndex(store, d), digest, depth + 1);
      if (found) return found;
    }
  }
  return undefined;
}
