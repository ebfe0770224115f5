import os from "node:os";
import path from "node:path";
import { defaultCacheDir, inventoryImage, type InventoryOptions } from "./image-inventory.js";
import { openImage } from "./image/open.js";
import { openTempArea } from "./image/temp-area.js";
import { parseTarget, type RegistryReference } from "./image/reference.js";
import type { ResolvedImage } from "./image/types.js";
import { matchPackages } from "./match/index.js";
import type { MatchOptions } from "./match/types.js";
import { evaluatePolicy } from "./policy/evaluate.js";
import { imageConfigFacts, type ImageConfigFacts } from "./policy/image-config.js";
import { registryTrust, signatureRuleFor, wantsSignatureCheck } from "./policy/trust-rules.js";
import type { ImportedSuppression, Policy } from "./policy/types.js";
import { checkSignatures } from "./trust/verify.js";
import type { SignatureFacts } from "./trust/types.js";
import type { ScanResult } from "./result.js";
import { readSbom } from "./sbom/index.js";
import { STOWAWAY_VERSION } from "./version.js";
import { defaultDatabaseDir } from "./vulndb/paths.js";
import { rememberEcosystems } from "./vulndb/recent.js";
import { openDatabase } from "./vulndb/store/reader.js";
import type { VulnerabilityStore } from "./vulndb/types.js";

export interface ScanOptions extends InventoryOptions {
  /**
   * A compiled vulnerability database (its directory, or a store already open). Without one the
   * result holds the inventory only and no `findings` at all: "not checked" is never "no vulnerabilities".
   */
  database?: string | VulnerabilityStore;
  match?: MatchOptions;
  /** The gate. Without one the result has no `policy` verdict. */
  policy?: Policy;
  /** Imported .trivyignore / .trivyignore.yaml / OpenVEX statements. */
  suppressions?: ImportedSuppression[];
  /** A previous result: the gate then applies only to findings that are new since. */
  baseline?: ScanResult;
  /** Signature facts already looked up (the admission webhook checks before scanning). */
  signature?: SignatureFacts;
}

/**
 * The library's one entry point: inventory of `target` (`oci-archive:x.tar`, `alpine:3.19`,
 * `sbom:bom.json`, a path ...), then vulnerabilities when a database is given, then the policy
 * verdict when a policy is given. Renderers, CI adapters and services all consume what it returns.
 */
export async function scan(target: string, options: ScanOptions = {}): Promise<ScanResult> {
  const parsed = parseTarget(target);
  if (parsed.kind === "sbom") {
    return assess(await inventoryFromSbom(parsed.path, parsed.reference), undefined, options);
  }
  if (parsed.kind === "registry" && options.policy?.mode !== "warn") {
    // trust.registries: an image from elsewhere is refused before anything is pulled (docs/trust.md).
    const decision = registryTrust(parsed.reference, options.policy?.trust?.registries);
    if (decision.kind === "denied") return refusedBeforeScan(parsed.reference, options);
  }
  const cacheDir = options.cacheDir === undefined ? defaultCacheDir() : options.cacheDir;
  // Decompressed copies of compressed archives and spilled files stay inside the cache dir, the one
  // place Stowaway writes to (the OS temp dir without a cache), in one directory per run that the next
  // run removes if this one is killed.
  const parent =
    options.tempDir ?? (cacheDir === false ? path.join(os.tmpdir(), "stowaway") : path.join(cacheDir, "tmp"));
  const area = openTempArea(parent);
  try {
    const scoped = { ...options, tempDir: area.dir };
    const image = await openImage(parsed, scoped);
    try {
      if (
        parsed.kind === "registry" &&
        options.signature === undefined &&
        wantsSignatureCheck(parsed.reference, options.policy?.trust)
      ) {
        scoped.signature = await lookUpSignatures(parsed.ref, parsed.reference, image, scoped);
      }
      return await scanImage(image, scoped);
    } finally {
      await image.close();
    }
  } finally {
    await area.dispose();
  }
}

/** Scans an image that is already open; the caller keeps ownership (registry inventory reuses one). */
export async function scanImage(image: ResolvedImage, options: ScanOptions = {}): Promise<ScanResult> {
  const result = await inventoryImage(image, options);
  return assess(result, imageConfigFacts(image.config), options);
}

/**
 * Findings and verdict for an inventory taken earlier (a stored one): `match(storedInventory,
 * currentDb)` then the policy, with no image read at all. Earlier findings and verdict are replaced.
 */
export async function assessInventory(
  inventory: ScanResult,
  options: ScanOptions & { imageConfig?: ImageConfigFacts } = {},
): Promise<ScanResult> {
  const { findings: _findings, database: _database, policy: _policy, ...rest } = inventory;
  return assess({ ...rest, warnings: [...rest.warnings] }, options.imageConfig, options);
}

/**
 * Looks up and verifies the signatures of a registry image for the policy's trust.signatures entry:
 * on the digest the reference resolved to and on the platform manifest chosen from it.
 */
export async function lookUpSignatures(
  ref: RegistryReference,
  reference: string,
  image: ResolvedImage,
  options: ScanOptions,
): Promise<SignatureFacts> {
  const entry = signatureRuleFor(reference, options.policy?.trust);
  // Loaded on demand, as image/open.ts does, so scanning an archive never loads the HTTP stack.
  const { RegistryClient } = await import("./image/registry/client.js");
  const client = new RegistryClient(ref.registry, { ...options.registry });
  try {
    return await checkSignatures({
      ref,
      digests: [image.referenceDigest ?? image.manifestDigest, image.manifestDigest],
      trust: entry ?? {},
      where: "trust.signatures",
      client,
      now: options.now ?? new Date(),
    });
  } finally {
    client.close();
  }
}

/** The result of an image refused by trust.registries: nothing pulled, only the verdict. */
function refusedBeforeScan(reference: string, options: ScanOptions): ScanResult {
  const result: ScanResult = {
    schemaVersion: 1,
    scanner: { name: "stowaway", version: STOWAWAY_VERSION },
    artifact: {
      reference,
      manifestDigest: "",
      configDigest: "",
      platform: { os: "", architecture: "" },
      os: { family: "unknown" },
      layers: [],
    },
    packages: [],
    warnings: ["the image was not pulled or scanned: trust.registries does not allow its registry"],
  };
  result.policy = evaluatePolicy(result, options.policy!, { now: options.now ?? new Date() });
  return result;
}

async function inventoryFromSbom(file: string, reference: string): Promise<ScanResult> {
  const sbom = await readSbom(file);
  return {
    schemaVersion: 1,
    scanner: { name: "stowaway", version: STOWAWAY_VERSION },
    artifact: { ...sbom.artifact, reference: sbom.artifact.reference || reference },
    packages: sbom.packages,
    warnings: sbom.warnings,
  };
}

async function assess(
  result: ScanResult,
  imageConfig: ImageConfigFacts | undefined,
  options: ScanOptions,
): Promise<ScanResult> {
  // The command line's order (match options) wins over the policy's.
  const sourceOrder = options.match?.severitySourceOrder ?? options.policy?.severity?.sourceOrder;
  const match = sourceOrder ? { ...options.match, severitySourceOrder: sourceOrder } : options.match;
  if (options.signature) result.signature = options.signature;
  if (options.database !== undefined) await addFindings(result, options.database, match);
  if (options.policy) {
    result.policy = evaluatePolicy(result, options.policy, {
      now: options.now ?? new Date(),
      ...(imageConfig ? { imageConfig } : {}),
      ...(options.baseline ? { baseline: options.baseline } : {}),
      ...(options.suppressions ? { suppressions: options.suppressions } : {}),
    });
  }
  return result;
}

async function addFindings(
  result: ScanResult,
  database: string | VulnerabilityStore,
  matchOptions?: MatchOptions,
): Promise<void> {
  const store = typeof database === "string" ? await openDatabase(database) : database;
  try {
    const { findings, warnings } = await matchPackages(result.packages, store, matchOptions);
    const { schemaVersion, builtAt, sources } = store.metadata();
    result.findings = findings;
    result.database = { schemaVersion, builtAt, sources };
    result.warnings = [...new Set([...result.warnings, ...warnings])];
    if (typeof database === "string" && path.resolve(database) === path.resolve(defaultDatabaseDir())) {
      // `db update` fetches by default the ecosystems recent scans needed. Only the managed default
      // database is noted in (a --db folder may be read-only or committed); failing must not fail a scan.
      await rememberEcosystems(database, new Set(result.packages.map((pkg) => pkg.ecosystem).filter(Boolean))).catch(
        () => undefined,
      );
    }
  } finally {
    if (typeof database === "string") await store.close();
  }
}
