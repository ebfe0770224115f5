import type { OsInfo, Package } from "./catalog/types.js";
import type { Platform } from "./image/types.js";

export interface ArtifactLayer {
  index: number;
  digest: string;
  diffId: string;
  mediaType: string;
  size: number;
  createdBy?: string;
}

/** What was scanned. Environment variables are deliberately absent: they often hold secrets. */
export interface Artifact {
  reference: string;
  manifestDigest: string;
  configDigest: string;
  platform: Platform;
  os: OsInfo;
  layers: ArtifactLayer[];
  created?: string;
  user?: string;
  labels?: Record<string, string>;
}

/**
 * The one document every renderer, CI adapter and later service consumes (`schemaVersion` 1,
 * published as core/schemas/scan-result.schema.json). Later stages add their own top-level
 * sections (findings, policy) without changing these.
 */
export interface ScanResult {
  schemaVersion: 1;
  scanner: { name: "stowaway"; version: string };
  artifact: Artifact;
  packages: Package[];
  warnings: string[];
}
