import type { Package } from "../catalog/types.js";
import type { ScanResult } from "../result.js";
import { jsonLogSafe } from "./escape.js";
import {
  PROPERTY,
  documentUuid,
  hasKnownOs,
  imageIdentity,
  isOsPackage,
  normalizeSpdxExpression,
  platformString,
  sourcePackageValue,
  spdxIdString,
  splitDigest,
  type SbomRenderOptions,
} from "./sbom/common.js";

export interface SpdxOptions extends SbomRenderOptions {
  /**
   * Prefix of the documentNamespace URI; the document name and UUID are appended. Without it the
   * namespace is `urn:uuid:<uuid>`, a unique URI that needs no domain for Stowaway to publish under.
   */
  namespaceBase?: string;
}

/** The subset of SPDX 2.3 JSON (spdx-spec chapter 7 and the 2.3 JSON schema) Stowaway writes. */
export interface SpdxDocument {
  spdxVersion: "SPDX-2.3";
  dataLicense: "CC0-1.0";
  SPDXID: "SPDXRef-DOCUMENT";
  name: string;
  documentNamespace: string;
  creationInfo: { created: string; creators: string[]; comment?: string };
  documentDescribes: string[];
  packages: SpdxPackage[];
  relationships: SpdxRelationship[];
  hasExtractedLicensingInfos?: { licenseId: string; extractedText: string; name: string }[];
}

export interface SpdxPackage {
  SPDXID: string;
  name: string;
  versionInfo?: string;
  downloadLocation: "NOASSERTION";
  filesAnalyzed: false;
  primaryPackagePurpose?: string;
  checksums?: { algorithm: "SHA256" | "SHA512"; checksumValue: string }[];
  licenseConcluded?: string;
  licenseDeclared?: string;
  copyrightText?: string;
  sourceInfo?: string;
  description?: string;
  comment?: string;
  externalRefs?: { referenceCategory: string; referenceType: string; referenceLocator: string }[];
  annotations?: { annotationDate: string; annotationType: "OTHER"; annotator: string; comment: string }[];
}

export interface SpdxRelationship {
  spdxElementId: string;
  relationshipType: "DESCRIBES" | "CONTAINS";
  relatedSpdxElement: string;
}

export const SPDX_IMAGE_ID = "SPDXRef-Image";
export const SPDX_OS_ID = "SPDXRef-OperatingSystem";

/**
 * SPDX 2.3 JSON of a scan. The document DESCRIBES the image (SPDXRef-Image), which CONTAINS its
 * operating system and every non-OS package; the operating system CONTAINS the OS packages.
 * Layer, location and source package go into one annotation per package (`stowaway:key=value`
 * lines), the only free-form slot SPDX 2.3 packages have that a reader can tell apart from prose.
 *
 * licenseConcluded is always NOASSERTION: Stowaway reports what package metadata declares and
 * concludes nothing. licenseDeclared keeps valid SPDX expressions and turns anything else into a
 * LicenseRef with its text in hasExtractedLicensingInfos.
 */
export function renderSpdx(result: ScanResult, options: SpdxOptions = {}): string {
  return `${jsonLogSafe(JSON.stringify(buildSpdxDocument(result, options), null, 2))}\n`;
}

export function buildSpdxDocument(result: ScanResult, options: SpdxOptions = {}): SpdxDocument {
  const created = isoSeconds(options.timestamp ?? new Date());
  const tool = `Tool: ${result.scanner.name}-${result.scanner.version}`;
  const identity = imageIdentity(result);
  const uuid = documentUuid(result, "spdx-2.3");
  const documentName = identity.name;
  const namespace = options.namespaceBase
    ? `${options.namespaceBase.replace(/\/+$/, "")}/${encodeURIComponent(spdxIdString(documentName))}-${uuid}`
    : `urn:uuid:${uuid}`;

  const extracted = new Map<string, { licenseId: string; extractedText: string; name: string }>();
  // One annotation per element, one `key=value` line per fact: a reader splits on newlines.
  const annotate: Annotate = (facts) =>
    facts.length === 0
      ? {}
      : {
          annotations: [
            {
              annotationDate: created,
              annotationType: "OTHER",
              annotator: tool,
              comment: facts.map(([key, value]) => `${key}=${value}`).join("\n"),
            },
          ],
        };

  const packages: SpdxPackage[] = [imagePackage(result, identity.purl, annotate)];
  const relationships: SpdxRelationship[] = [
    { spdxElementId: "SPDXRef-DOCUMENT", relationshipType: "DESCRIBES", relatedSpdxElement: SPDX_IMAGE_ID },
  ];

  const withOs = hasKnownOs(result);
  if (withOs) {
    const { os } = result.artifact;
    packages.push({
      SPDXID: SPDX_OS_ID,
      name: os.family,
      ...(os.version ? { versionInfo: os.version } : {}),
      downloadLocation: "NOASSERTION",
      filesAnalyzed: false,
      primaryPackagePurpose: "OPERATING_SYSTEM",
      ...(os.prettyName ? { description: os.prettyName } : {}),
      ...annotate(os.ecosystem ? [[PROPERTY.osEcosystem, os.ecosystem]] : []),
    });
    relationships.push({ spdxElementId: SPDX_IMAGE_ID, relationshipType: "CONTAINS", relatedSpdxElement: SPDX_OS_ID });
  }

  const layerDigests = new Map(result.artifact.layers.map((layer) => [layer.index, layer.digest]));
  const usedIds = new Set<string>([SPDX_IMAGE_ID, SPDX_OS_ID]);
  for (const pkg of result.packages) {
    const spdxId = uniqueId(`SPDXRef-Package-${spdxIdString(pkg.id)}`, usedIds);
    packages.push(packageOf(pkg, spdxId, layerDigests.get(pkg.layerIndex), extracted, annotate));
    relationships.push({
      spdxElementId: withOs && isOsPackage(pkg) ? SPDX_OS_ID : SPDX_IMAGE_ID,
      relationshipType: "CONTAINS",
      relatedSpdxElement: spdxId,
    });
  }

  return {
    spdxVersion: "SPDX-2.3",
    dataLicense: "CC0-1.0",
    SPDXID: "SPDXRef-DOCUMENT",
    name: documentName,
    documentNamespace: namespace,
    creationInfo: { created, creators: [tool] },
    documentDescribes: [SPDX_IMAGE_ID],
    packages,
    relationships,
    ...(extracted.size > 0 ? { hasExtractedLicensingInfos: [...extracted.values()] } : {}),
  };
}

type Annotate = (facts: [string, string][]) => Pick<SpdxPackage, "annotations">;

function imagePackage(result: ScanResult, purl: string, annotate: Annotate): SpdxPackage {
  const { artifact } = result;
  const digest = splitDigest(artifact.manifestDigest);
  const facts: [string, string][] = [];
  if (artifact.configDigest) facts.push([PROPERTY.configDigest, artifact.configDigest]);
  const platform = platformString(result);
  if (platform) facts.push([PROPERTY.platform, platform]);
  const { os } = artifact;
  if (os.family) facts.push([PROPERTY.osFamily, os.family]);
  if (os.version) facts.push([PROPERTY.osVersion, os.version]);
  if (os.codename) facts.push([PROPERTY.osCodename, os.codename]);
  if (os.ecosystem) facts.push([PROPERTY.osEcosystem, os.ecosystem]);
  for (const layer of artifact.layers) facts.push([PROPERTY.layer, `${layer.index} ${layer.digest} ${layer.diffId}`]);
  return {
    SPDXID: SPDX_IMAGE_ID,
    name: imageIdentity(result).name,
    ...(artifact.manifestDigest ? { versionInfo: artifact.manifestDigest } : {}),
    downloadLocation: "NOASSERTION",
    filesAnalyzed: false,
    primaryPackagePurpose: "CONTAINER",
    ...(digest
      ? { checksums: [{ algorithm: digest.algorithm === "sha256" ? "SHA256" : "SHA512", checksumValue: digest.hex }] }
      : {}),
    ...(purl
      ? { externalRefs: [{ referenceCategory: "PACKAGE-MANAGER", referenceType: "purl", referenceLocator: purl }] }
      : {}),
    ...annotate(facts),
  };
}

function packageOf(
  pkg: Package,
  spdxId: string,
  layerDigest: string | undefined,
  extracted: Map<string, { licenseId: string; extractedText: string; name: string }>,
  annotate: Annotate,
): SpdxPackage {
  const facts: [string, string][] = [[PROPERTY.packageId, pkg.id]];
  // Empty is meaningful (third-party packages, docs/matching-rules.md §3.1), so it is written too.
  facts.push([PROPERTY.ecosystem, pkg.ecosystem]);
  facts.push([PROPERTY.layerIndex, String(pkg.layerIndex)]);
  if (layerDigest) facts.push([PROPERTY.layerDigest, layerDigest]);
  for (const location of pkg.locations) facts.push([PROPERTY.location, location]);
  const source = sourcePackageValue(pkg);
  if (source) facts.push([PROPERTY.sourcePackage, source]);
  if (pkg.bundled) facts.push([PROPERTY.bundled, "true"]);

  return {
    SPDXID: spdxId,
    name: pkg.name,
    ...(pkg.version ? { versionInfo: pkg.version } : {}),
    downloadLocation: "NOASSERTION",
    filesAnalyzed: false,
    // SPDX INSTALL means an installer; a distro package is, like any other, a LIBRARY here (as Trivy writes it).
    primaryPackagePurpose: "LIBRARY",
    licenseConcluded: "NOASSERTION",
    licenseDeclared: declaredLicense(pkg.licenses ?? [], extracted),
    copyrightText: "NOASSERTION",
    ...(pkg.source ? { sourceInfo: `built package from: ${pkg.source.name} ${pkg.source.version}`.trim() } : {}),
    ...(pkg.purl
      ? { externalRefs: [{ referenceCategory: "PACKAGE-MANAGER", referenceType: "purl", referenceLocator: pkg.purl }] }
      : {}),
    ...annotate(facts),
  };
}

/** Several declared licenses all apply (Syft and Trivy read them so too), hence AND. */
function declaredLicense(
  values: string[],
  extracted: Map<string, { licenseId: string; extractedText: string; name: string }>,
): string {
  const cleaned = [...new Set(values.map((value) => value.trim()).filter(Boolean))];
  const parts = cleaned.map((value) => {
    const expression = normalizeSpdxExpression(value);
    if (expression) return /\s/.test(expression) && cleaned.length > 1 ? `(${expression})` : expression;
    const licenseId = `LicenseRef-${spdxIdString(value).replace(/^-+|-+$/g, "") || "unknown"}`;
    const existing = extracted.get(licenseId);
    if (!existing) extracted.set(licenseId, { licenseId, extractedText: value, name: value });
    else if (existing.extractedText !== value) return refWithSuffix(licenseId, value, extracted);
    return licenseId;
  });
  return parts.length > 0 ? parts.join(" AND ") : "NOASSERTION";
}

// Two different license texts can sanitize to the same LicenseRef ("GPL v2" / "GPL/v2"); number them.
function refWithSuffix(
  base: string,
  value: string,
  extracted: Map<string, { licenseId: string; extractedText: string; name: string }>,
): string {
  for (let n = 2; ; n++) {
    const licenseId = `${base}-${n}`;
    const existing = extracted.get(licenseId);
    if (!existing) {
      extracted.set(licenseId, { licenseId, extractedText: value, name: value });
      return licenseId;
    }
    if (existing.extractedText === value) return licenseId;
  }
}

function uniqueId(candidate: string, used: Set<string>): string {
  let id = candidate;
  for (let n = 2; used.has(id); n++) id = `${candidate}-${n}`;
  used.add(id);
  return id;
}

/** SPDX wants `YYYY-MM-DDThh:mm:ssZ`, without milliseconds. */
function isoSeconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}
