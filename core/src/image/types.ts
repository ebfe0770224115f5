import type { Readable } from "node:stream";

/** An OCI platform; `variant` is only meaningful for arm. */
export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

/** An OCI content descriptor (image-spec descriptor.md). */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform & { "os.version"?: string };
  annotations?: Record<string, string>;
  urls?: string[];
  artifactType?: string;
}

export interface HistoryEntry {
  created?: string;
  created_by?: string;
  comment?: string;
  empty_layer?: boolean;
}

/** The image config blob (image-spec config.md); only the fields Stowaway reads are typed. */
export interface ImageConfig {
  architecture?: string;
  os?: string;
  variant?: string;
  created?: string;
  config?: {
    User?: string;
    Env?: string[];
    Labels?: Record<string, string> | null;
    Entrypoint?: string[] | null;
    Cmd?: string[] | null;
    WorkingDir?: string;
    ExposedPorts?: Record<string, unknown>;
  };
  rootfs: { type: string; diff_ids: string[] };
  history?: HistoryEntry[];
}

export interface LayerDescriptor {
  index: number;
  /** Digest of the blob as stored (compressed for most images). */
  digest: string;
  /**
   * Digest of the uncompressed tar, from the config's rootfs.diff_ids. A claim: reading the layer
   * checks it only for uncompressed layers (where it is the blob digest) and when `verify` says so.
   */
  diffId: string;
  /**
   * What reading the layer verifies. Default: the blob `digest`, which openLayer's stream checks.
   * "diffId": nothing addresses the blob (a compressed layer of a legacy docker-archive, whose
   * digest Stowaway computed from the archive itself), so openLayer checks nothing and the walker
   * hashes the uncompressed stream against `diffId` instead.
   */
  verify?: "diffId";
  mediaType: string;
  size: number;
  /** The Dockerfile-ish line, only when non-empty history aligns 1:1 with diff_ids. */
  createdBy?: string;
}

/**
 * The digest reading `layer` verifies every byte against (see LayerDescriptor.verify), and so what
 * identifies its content in the layer and inventory caches.
 */
export function verifiedDigest(layer: Pick<LayerDescriptor, "digest" | "diffId" | "verify">): string {
  return layer.verify === "diffId" ? layer.diffId : layer.digest;
}

/** One image, resolved to a single platform, whose layer blobs can be read. */
export interface ResolvedImage {
  /** What the user asked for, as typed (without credentials). */
  reference: string;
  manifestDigest: string;
  /**
   * Registry images: the digest the reference itself resolved to (the index of a multi-arch image,
   * else the manifest), which is what signers sign.
   */
  referenceDigest?: string;
  configDigest: string;
  platform: Platform;
  config: ImageConfig;
  layers: LayerDescriptor[];
  /**
   * Opens the stored blob of layer `index`. The stream verifies the blob digest as it is read and
   * errors (ImageError) instead of ending if the content does not match, so consumers must read it
   * to the end; readLayerSnapshots relies on this and does not hash the bytes again. (A layer whose
   * `verify` is "diffId" is not checked here; its reader checks the diff_id.)
   */
  openLayer(index: number): Promise<Readable>;
  /** Releases file handles / temp files. Safe to call twice. */
  close(): Promise<void>;
}

export type SourceKind = "docker-archive" | "oci-archive" | "oci-dir" | "registry";

/** Options shared by every image source. */
export interface ResolveOptions {
  /** Wanted platform for multi-arch indexes; default linux/amd64. */
  platform?: Platform;
  registry?: RegistryOptions;
  /** Where a compressed archive may be decompressed to (the scan passes a folder inside its cache dir). */
  tempDir?: string;
}

export interface RegistryOptions {
  username?: string;
  password?: string;
  /** Static bearer token sent as-is to the target registry. */
  registryToken?: string;
  /** Plain HTTP, or HTTPS without certificate verification, for the target registry only. */
  insecure?: boolean;
  /** PEM file of extra CAs trusted for the target registry. */
  caFile?: string;
  /** Overrides DOCKER_CONFIG / ~/.docker for tests. */
  dockerConfigDir?: string;
  /** Overrides the podman auth.json location for tests. */
  podmanAuthFile?: string;
  /** Overrides the process environment (HTTPS_PROXY, NO_PROXY ...) for tests. */
  env?: NodeJS.ProcessEnv;
  /** Per-phase network timeouts; each defaults as in DEFAULT_REGISTRY_TIMEOUTS. */
  timeouts?: RegistryTimeouts;
}

/** How long each phase of one registry request may take before it counts as stalled. */
export interface RegistryTimeouts {
  /** Opening a connection: TCP connect plus the TLS handshake. */
  connectMs?: number;
  /** From sending a request until its response headers arrive. */
  firstByteMs?: number;
  /** Longest silence while reading a body, counted only while the reader is waiting for bytes. */
  idleMs?: number;
}
