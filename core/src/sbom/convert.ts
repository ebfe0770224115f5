import { createHash } from "node:crypto";
import { osvEcosystem } from "../catalog/os/ecosystem.js";
import type { OsInfo, Package } from "../catalog/types.js";
import type { Platform } from "../image/types.js";
import { PROPERTY } from "../report/sbom/common.js";
import type { Artifact, ArtifactLayer } from "../result.js";
import { distroRelease, isOsPurlType, purlFacts, type PurlFacts } from "./purl.js";
import type { SbomElement } from "./types.js";

/** Properties other tools write that carry what Stowaway needs (Trivy `aquasecurity:trivy:*`, Syft `syft:*`). */
const TRIVY = "aquasecurity:trivy:";

/** Reads one element's facts the way every format needs them. */
function propertyValues(element: SbomElement, name: string): string[] {
  return element.properties.filter(([key]) => key === name).map(([, value]) => value);
}

function first(element: SbomElement, name: string): string | undefined {
  return element.properties.find(([key]) => key === name)?.[1];
}

export interface ConvertContext {
  label: string;
  os: OsInfo;
  layers: ArtifactLayer[];
  warnings: string[];
}

/**
 * Turns the elements with a package URL into packages. Elements without one cannot be matched
 * against any feed, so they are counted in a warning rather than guessed at.
 */
export function toPackages(elements: SbomElement[], context: ConvertContext): Package[] {
  const packages: Package[] = [];
  const usedIds = new Set<string>();
  const withoutPurl: string[] = [];
  const noEcosystem = new Map<string, number>();
  for (const element of elements) {
    if (!element.purl) {
      withoutPurl.push(element.name || element.ref);
      continue;
    }
    let facts: PurlFacts;
    try {
      facts = purlFacts(element.purl, context.os);
    } catch (error) {
      context.warnings.push(
        `sbom: ${context.label}: "${element.name || element.ref}": skipped, its package URL "${element.purl}" is malformed (${(error as Error).message})`,
      );
      continue;
    }
    const pkg = toPackage(element, facts, context, usedIds);
    if (!pkg.ecosystem) noEcosystem.set(pkg.type, (noEcosystem.get(pkg.type) ?? 0) + 1);
    packages.push(pkg);
  }
  if (withoutPurl.length > 0) {
    const sample = withoutPurl.slice(0, 5).join(", ");
    context.warnings.push(
      `sbom: ${context.label}: ${withoutPurl.length} component(s) without a package URL skipped (${sample}${withoutPurl.length > 5 ? ", ..." : ""}); they cannot be matched`,
    );
  }
  for (const [type, count] of noEcosystem) {
    context.warnings.push(
      `sbom: ${context.label}: ${count} ${type} package(s) have no vulnerability ecosystem (unknown purl type or release) and will not be matched`,
    );
  }
  return packages;
}

function toPackage(element: SbomElement, facts: PurlFacts, context: ConvertContext, usedIds: Set<string>): Package {
  const version = facts.version || element.version || "";
  const pkg: Package = {
    id: packageId(element, facts, usedIds),
    name: facts.name,
    version,
    type: facts.type,
    ecosystem: first(element, PROPERTY.ecosystem) ?? facts.ecosystem,
    purl: facts.purl,
    locations: locations(element),
    layerIndex: layerIndex(element, context.layers),
  };
  const source = sourceOf(element, facts, version);
  if (source) pkg.source = source;
  if (facts.arch) pkg.arch = facts.arch;
  if (element.licenses.length > 0) pkg.licenses = element.licenses;
  if (first(element, PROPERTY.bundled) === "true") pkg.bundled = true;
  pkg.metadata = { sbomRef: element.ref };
  return pkg;
}

/**
 * Stowaway's own SBOMs keep the scan's package id, so finding ids and suppressions keyed by them
 * survive the round trip. Other SBOMs get a hash of purl and element ref: stable across rereads.
 */
function packageId(element: SbomElement, facts: PurlFacts, usedIds: Set<string>): string {
  const own = first(element, PROPERTY.packageId) ?? (first(element, PROPERTY.layerIndex) ? element.ref : undefined);
  let id = own && /^[\w.-]+$/.test(own) && !usedIds.has(own) ? own : undefined;
  if (!id) {
    const base = createHash("sha256").update(`${facts.purl}\n${element.ref}`).digest("hex").slice(0, 16);
    id = base;
    for (let n = 2; usedIds.has(id); n++) id = `${base}-${n}`;
  }
  usedIds.add(id);
  return id;
}

function locations(element: SbomElement): string[] {
  const found = [
    ...propertyValues(element, PROPERTY.location),
    ...element.properties.filter(([key]) => /^syft:location:\d+:path$/.test(key)).map(([, value]) => value),
    ...propertyValues(element, `${TRIVY}FilePath`),
  ];
  // Stowaway paths are relative to the image root.
  return [...new Set(found.map((location) => location.replace(/^\/+/, "")).filter(Boolean))];
}

function layerIndex(element: SbomElement, layers: ArtifactLayer[]): number {
  const own = first(element, PROPERTY.layerIndex);
  if (own !== undefined && /^-?\d+$/.test(own)) return Number(own);
  const digest = first(element, PROPERTY.layerDigest) ?? first(element, `${TRIVY}LayerDigest`);
  const diffId = first(element, `${TRIVY}LayerDiffID`);
  const layer = layers.find((candidate) => candidate.digest === digest || candidate.diffId === diffId);
  return layer ? layer.index : -1;
}

function sourceOf(element: SbomElement, facts: PurlFacts, version: string): Package["source"] {
  const own = first(element, PROPERTY.sourcePackage);
  if (own) {
    const at = own.lastIndexOf("@");
    return at > 0 ? { name: own.slice(0, at), version: own.slice(at + 1) } : { name: own, version };
  }
  if (facts.source) return facts.source;
  const trivyName = first(element, `${TRIVY}SrcName`);
  if (trivyName) {
    const srcVersion = first(element, `${TRIVY}SrcVersion`) ?? "";
    const release = first(element, `${TRIVY}SrcRelease`);
    const epoch = first(element, `${TRIVY}SrcEpoch`);
    const full = `${epoch && epoch !== "0" ? `${epoch}:` : ""}${srcVersion}${release ? `-${release}` : ""}`;
    return { name: trivyName, version: full || version };
  }
  const syftSource = first(element, "syft:metadata:source");
  if (syftSource) return { name: syftSource, version: first(element, "syft:metadata:sourceVersion") ?? version };
  const built = element.sourceInfo && /^built package from:\s*(\S+)(?:\s+(\S+))?\s*$/.exec(element.sourceInfo);
  if (built && isOsPurlType(facts.type)) return { name: built[1]!, version: built[2] ?? version };
  return undefined;
}

/** What the main element (image) records, from Stowaway's properties or Trivy's. */
export interface ArtifactFacts {
  reference: string;
  manifestDigest?: string;
  configDigest?: string;
  platform?: string;
  os?: OsInfo;
  layers?: ArtifactLayer[];
}

export function artifactFacts(element: SbomElement | undefined): Omit<ArtifactFacts, "reference"> {
  if (!element) return {};
  const facts: Omit<ArtifactFacts, "reference"> = {};
  const digest = [
    element.version,
    first(element, `${TRIVY}RepoDigest`)?.replace(/^[^@]*@/, ""),
    element.purl && /@(sha256:[a-f0-9]{64})/.exec(decodeURIComponent(element.purl))?.[1],
  ].find((candidate) => candidate && /^sha256:[a-f0-9]{64}$/.test(candidate));
  if (digest) facts.manifestDigest = digest;
  const config = first(element, PROPERTY.configDigest) ?? first(element, `${TRIVY}ImageID`);
  if (config) facts.configDigest = config;
  const platform = first(element, PROPERTY.platform);
  if (platform) facts.platform = platform;
  const family = first(element, PROPERTY.osFamily);
  if (family) {
    const version = first(element, PROPERTY.osVersion);
    const codename = first(element, PROPERTY.osCodename);
    const ecosystem = first(element, PROPERTY.osEcosystem);
    facts.os = {
      family,
      ...(version ? { version } : {}),
      ...(codename ? { codename } : {}),
      ...(ecosystem ? { ecosystem } : {}),
    };
  }
  const layers = propertyValues(element, PROPERTY.layer)
    .map((value) => /^(\d+) (\S+) (\S+)$/.exec(value))
    .filter((match): match is RegExpExecArray => match !== null)
    .map((match) => ({ index: Number(match[1]), digest: match[2]!, diffId: match[3]!, mediaType: "", size: 0 }));
  if (layers.length > 0) facts.layers = layers;
  return facts;
}

/** The OS from an operating-system component/package: name is the distro id, version its release. */
export function osFromElement(element: SbomElement): OsInfo | undefined {
  const family = element.name.trim().toLowerCase();
  if (!family) return undefined;
  const ecosystem = first(element, PROPERTY.osEcosystem);
  const codename = first(element, PROPERTY.osCodename);
  const version = element.version?.trim();
  const derived = version ? distroRelease(`${family}-${version}`, family) : undefined;
  return {
    family,
    ...(version ? { version } : {}),
    ...(codename ? { codename } : {}),
    ...(ecosystem ? { ecosystem } : derived?.ecosystem ? { ecosystem: derived.ecosystem } : {}),
  };
}

/**
 * When the SBOM names no OS, the `distro` qualifier most OS packages share stands in for it
 * (Syft and snyk put the release only there).
 */
export function osFromPurls(elements: SbomElement[]): OsInfo | undefined {
  const counts = new Map<string, { os: OsInfo; count: number }>();
  for (const element of elements) {
    if (!element.purl) continue;
    let facts: PurlFacts;
    try {
      facts = purlFacts(element.purl);
    } catch {
      continue;
    }
    if (!facts.os) continue;
    const key = JSON.stringify(facts.os);
    const entry = counts.get(key) ?? { os: facts.os, count: 0 };
    entry.count++;
    counts.set(key, entry);
  }
  return [...counts.values()].sort((a, b) => b.count - a.count)[0]?.os;
}

export function buildArtifact(facts: ArtifactFacts, os: OsInfo | undefined): Artifact {
  const [platformOs = "", architecture = "", variant] = (facts.platform ?? "").split("/");
  const platform: Platform = { os: platformOs, architecture, ...(variant ? { variant } : {}) };
  const resolvedOs = facts.os ?? os ?? { family: "unknown" };
  if (!resolvedOs.ecosystem && resolvedOs.family !== "unknown") {
    const ecosystem = resolvedOs.version
      ? distroRelease(`${resolvedOs.family}-${resolvedOs.version}`, resolvedOs.family)?.ecosystem
      : osvEcosystem({ family: resolvedOs.family });
    if (ecosystem) resolvedOs.ecosystem = ecosystem;
  }
  return {
    reference: facts.reference,
    manifestDigest: facts.manifestDigest ?? "",
    configDigest: facts.configDigest ?? "",
    platform,
    os: resolvedOs,
    layers: facts.layers ?? [],
  };
}
