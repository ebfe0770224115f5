import os from "node:os";
import path from "node:path";
import { inventoryImage, type InventoryOptions } from "./image-inventory.js";
import { openImage } from "./image/open.js";
import { openTempArea } from "./image/temp-area.js";
import { parseTarget, type RegistryReference } from "./image/reference.js";
import type { ResolvedImage } from "./image/types.js";
import type { MatchOptions } from "./match/types.js";
import { imageConfigFacts, type ImageConfigFacts } from "./policy/image-config.js";
import type { ImportedSuppression, Policy } from "./policy/types.js";
import { resolveDefaults } from "./defaults.js";
import type { TakenInventory } from "./request.js";
import type { ScanResult } from "./result.js";
import type { SignatureFacts } from "./trust/types.js";
import { STOWAWAY_VERSION } from "./version.js";
import type { VulnerabilityStore } from "./vulndb/types.js";

/**
 * What scan, scanImage and scanRegistry take: a ScanRequest resolved by resolveScanRequest (the
 * database, gate and imports read, the defaults applied). Library callers may build it directly.
 */
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
  // One clock for the whole run: end-of-life checks and the policy see the same `now`.
  const timed = { ...options, now: resolveDefaults(options).now };
  const refused = await refusedByRegistryTrust(target, timed);
  if (refused) return refused;
  const taken = await takeInventory(target, timed);
  await verifySignatures(target, taken, timed);
  return assess(taken.result, taken.imageConfig, timed);
}

/**
 * trust.registries: an image from a registry the policy does not allow is refused before anything
 * is pulled (docs/trust.md); the result holds only the verdict. Undefined when the image may be read.
 */
export async function refusedByRegistryTrust(target: string, options: ScanOptions): Promise<ScanResult | undefined> {
  const parsed = parseTarget(target);
  if (parsed.kind !== "registry" || !options.policy?.trust?.registries || options.policy.mode === "warn")
    return undefined;
  const { registryTrust } = await import("./policy/trust-rules.js");
  if (registryTrust(parsed.reference, options.policy.trust.registries).kind !== "denied") return undefined;
  const result: ScanResult = {
    schemaVersion: 1,
    scanner: { name: "stowaway", version: STOWAWAY_VERSION },
    artifact: {
      reference: parsed.reference,
      manifestDigest: "",
      configDigest: "",
      platform: { os: "", architecture: "" },
      os: { family: "unknown" },
      layers: [],
    },
    packages: [],
    warnings: ["the image was not pulled or scanned: trust.registries does not allow its registry"],
  };
  const { evaluatePolicy } = await import("./policy/evaluate.js");
  result.policy = evaluatePolicy(result, options.policy, { now: resolveDefaults(options).now });
  return result;
}

/**
 * The image's signatures, looked up and verified for the policy's trust.signatures entry when it asks
 * for them (registry images only), recorded on the taken inventory's result. An inventory taken
 * earlier in the run (the CI database step) is checked here, from the digests it recorded.
 */
export async function verifySignatures(target: string, taken: TakenInventory, options: ScanOptions): Promise<void> {
  if (options.signature) {
    taken.result.signature = options.signature;
    return;
  }
  const parsed = parseTarget(target);
  if (taken.result.signature || parsed.kind !== "registry" || !options.policy?.trust) return;
  const { wantsSignatureCheck } = await import("./policy/trust-rules.js");
  if (!wantsSignatureCheck(parsed.reference, options.policy.trust)) return;
  const manifestDigest = taken.result.artifact.manifestDigest;
  taken.result.signature = await signaturesFor(
    parsed.ref,
    parsed.reference,
    [taken.referenceDigest ?? manifestDigest, manifestDigest],
    options,
  );
}

/**
 * The inventory of `target` and the facts of its image config, without matching: what the CI
 * database step needs to learn the image's ecosystems, and what the scan then matches without
 * reading the image again (ScanRequest.inventory).
 */
export async function takeInventory(target: string, options: InventoryOptions = {}): Promise<TakenInventory> {
  const parsed = parseTarget(target);
  if (parsed.kind === "sbom") return { result: await inventoryFromSbom(parsed.path, parsed.reference) };
  const { cacheDir, now } = resolveDefaults(options);
  // Decompressed copies of compressed archives and spilled files stay inside the cache dir, the one
  // place Stowaway writes to (the OS temp dir without a cache), in one directory per run that the next
  // run removes if this one is killed.
  const parent =
    options.tempDir ?? (cacheDir === false ? path.join(os.tmpdir(), "stowaway") : path.join(cacheDir, "tmp"));
  const area = openTempArea(parent);
  try {
    const scoped = { ...options, cacheDir, now, tempDir: area.dir };
    const image = await openImage(parsed, scoped);
    try {
      return {
        result: await inventoryImage(image, scoped),
        imageConfig: imageConfigFacts(image.config),
        ...(image.referenceDigest ? { referenceDigest: image.referenceDigest } : {}),
      };
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
  return signaturesFor(ref, reference, [image.referenceDigest ?? image.manifestDigest, image.manifestDigest], options);
}

async function signaturesFor(
  ref: RegistryReference,
  reference: string,
  digests: string[],
  options: ScanOptions,
): Promise<SignatureFacts> {
  // Loaded on demand, as image/open.ts does: scanning an archive never loads the HTTP stack or sigstore.
  const [{ signatureRuleFor }, { checkSignatures }, { RegistryClient }] = await Promise.all([
    import("./policy/trust-rules.js"),
    import("./trust/verify.js"),
    import("./image/registry/client.js"),
  ]);
  const entry = signatureRuleFor(reference, options.policy?.trust);
  const client = new RegistryClient(ref.registry, { ...options.registry });
  try {
    return await checkSignatures({
      ref,
      digests,
      trust: entry ?? {},
      where: "trust.signatures",
      client,
      now: options.now ?? new Date(),
    });
  } finally {
    client.close();
  }
}

async function inventoryFromSbom(file: string, reference: string): Promise<ScanResult> {
  const { readSbom } = await import("./sbom/index.js");
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
    const { evaluatePolicy } = await import("./policy/evaluate.js");
    result.policy = evaluatePolicy(result, options.policy, {
      now: resolveDefaults(options).now,
      ...(imageConfig ? { imageConfig } : {}),
      ...(options.baseline ? { baseline: options.baseline } : {}),
      ...(options.suppressions ? { suppressions: options.suppressions } : {}),
    });
  }
  return result;
}

let loadingMatch:
  | Promise<
      [
        typeof import("./match/index.js"),
        typeof import("./vulndb/paths.js"),
        typeof import("./vulndb/recent.js"),
        typeof import("./vulndb/store/reader.js"),
      ]
    >
  | undefined;

/** Loaded once per process: a registry rescan assesses thousands of inventories in a row. */
function matchingModules() {
  loadingMatch ??= Promise.all([
    import("./match/index.js"),
    import("./vulndb/paths.js"),
    import("./vulndb/recent.js"),
    import("./vulndb/store/reader.js"),
  ]);
  return loadingMatch;
}

async function addFindings(
  result: ScanResult,
  database: string | VulnerabilityStore,
  matchOptions?: MatchOptions,
): Promise<void> {
  // Matching, the database reader and the CVSS calculator load only when a database is given, so an
  // inventory alone (`stowaway sbom`, a warm rescan) never starts them (README "Caching and speed").
  const [{ matchPackages }, { defaultDatabaseDir }, { rememberEcosystems }, { openDatabase }] = await matchingModules();
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
      const feeds = new Set(result.packages.map((pkg) => pkg.ecosystem).filter(Boolean));
      // Rocky, Alma, CentOS and Oracle packages are matched in Red Hat's streams as well, so its OSV
      // feed is needed too (docs/distro-matching.md "Rebuilds and derivatives").
      if (result.packages.some((pkg) => pkg.metadata?.redhatDerivative)) feeds.add("Red Hat");
      await rememberEcosystems(database, feeds).catch(() => undefined);
    }
  } finally {
    if (typeof database === "string") await store.close();
  }
}
