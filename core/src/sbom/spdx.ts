import { StowawayError } from "../errors.js";
import { artifactFacts, buildArtifact, osFromElement, osFromPurls, toPackages } from "./convert.js";
import type { SbomElement, SbomInventory } from "./types.js";

/** SPDX 2.2 JSON differs from 2.3 only in fields Stowaway does not read for packages. */
const SUPPORTED_VERSIONS = new Set(["SPDX-2.2", "SPDX-2.3"]);
const NO_VALUE = new Set(["NOASSERTION", "NONE"]);

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function text(value: unknown): string | undefined {
  return typeof value === "string" && value.trim() !== "" ? value : undefined;
}

/** Reads a parsed SPDX 2.2/2.3 JSON document. `label` names the file in messages. */
export function readSpdx(doc: Json, label: string, extraWarnings: string[] = []): SbomInventory {
  const spec = String(doc.spdxVersion ?? "");
  if (!SUPPORTED_VERSIONS.has(spec)) {
    throw new StowawayError(
      `${label}: ${spec || "this SPDX version"} is not supported; regenerate the SBOM as SPDX 2.3 JSON`,
      "SBOM_ERROR",
    );
  }
  if (doc.packages !== undefined && !Array.isArray(doc.packages)) {
    throw new StowawayError(`${label}: "packages" is not a list; the SPDX file is malformed`, "SBOM_ERROR");
  }
  const warnings = [...extraWarnings];
  const extracted = new Map<string, string>();
  if (Array.isArray(doc.hasExtractedLicensingInfos)) {
    for (const info of doc.hasExtractedLicensingInfos) {
      if (!isObject(info)) continue;
      const id = text(info.licenseId);
      const name = text(info.name) ?? text(info.extractedText);
      if (id && name) extracted.set(id, name);
    }
  }

  const described = describedIds(doc);
  let main: SbomElement | undefined;
  let mainIsContainer = false;
  let mainChecksum: string | undefined;
  const elements: SbomElement[] = [];
  const osElements: SbomElement[] = [];
  let skipped = 0;
  for (const value of (doc.packages as unknown[] | undefined) ?? []) {
    if (!isObject(value)) {
      skipped++;
      continue;
    }
    const current = element(value, extracted);
    const purpose = String(value.primaryPackagePurpose ?? "").replace("-", "_");
    if (described.has(current.ref)) {
      // The first described package is the artifact; SPDX lets a document describe several.
      if (!main) {
        main = current;
        mainIsContainer = purpose === "CONTAINER";
        mainChecksum = sha256Checksum(value.checksums);
      }
      continue;
    }
    const isOs = purpose === "OPERATING_SYSTEM" || current.ref.startsWith("SPDXRef-OperatingSystem");
    if (isOs && !current.purl) osElements.push(current);
    else elements.push(current);
  }
  if (skipped > 0) warnings.push(`sbom: ${label}: ${skipped} package entr(ies) that are not objects were skipped`);

  const facts = artifactFacts(main);
  if (!facts.manifestDigest && mainIsContainer && mainChecksum) facts.manifestDigest = `sha256:${mainChecksum}`;
  const os = facts.os ?? (osElements[0] ? osFromElement(osElements[0]) : undefined) ?? osFromPurls(elements);
  const artifact = buildArtifact({ reference: main?.name || text(doc.name) || label, ...facts }, os);
  const packages = toPackages(elements, { label, os: artifact.os, layers: artifact.layers, warnings });
  return { artifact, packages, warnings, format: spec };
}

function describedIds(doc: Json): Set<string> {
  const ids = new Set<string>();
  const documentId = text(doc.SPDXID) ?? "SPDXRef-DOCUMENT";
  if (Array.isArray(doc.documentDescribes)) {
    for (const id of doc.documentDescribes) if (typeof id === "string") ids.add(id);
  }
  if (Array.isArray(doc.relationships)) {
    for (const relationship of doc.relationships) {
      if (!isObject(relationship)) continue;
      const type = relationship.relationshipType;
      if (type === "DESCRIBES" && relationship.spdxElementId === documentId) {
        ids.add(String(relationship.relatedSpdxElement));
      } else if (type === "DESCRIBED_BY" && relationship.relatedSpdxElement === documentId) {
        ids.add(String(relationship.spdxElementId));
      }
    }
  }
  return ids;
}

function element(value: Json, extracted: Map<string, string>): SbomElement {
  const properties: [string, string][] = [];
  // Stowaway writes `stowaway:key=value` lines into one annotation per package.
  if (Array.isArray(value.annotations)) {
    for (const annotation of value.annotations) {
      if (!isObject(annotation) || typeof annotation.comment !== "string") continue;
      for (const line of annotation.comment.split("\n")) {
        const match = /^(stowaway:[\w:]+)=(.*)$/.exec(line.trim());
        if (match) properties.push([match[1]!, match[2]!]);
      }
    }
  }
  // Trivy writes its facts as "Key: value" attribution texts; read them as its CycloneDX properties.
  if (Array.isArray(value.attributionTexts)) {
    for (const attribution of value.attributionTexts) {
      const match = typeof attribution === "string" ? /^(\w+): (.+)$/.exec(attribution) : null;
      if (match) properties.push([`aquasecurity:trivy:${match[1]}`, match[2]!]);
    }
  }
  let purl: string | undefined;
  if (Array.isArray(value.externalRefs)) {
    for (const ref of value.externalRefs) {
      if (
        isObject(ref) &&
        ref.referenceType === "purl" &&
        (ref.referenceCategory === "PACKAGE-MANAGER" || ref.referenceCategory === "PACKAGE_MANAGER") &&
        typeof ref.referenceLocator === "string"
      ) {
        purl = ref.referenceLocator;
        break;
      }
    }
  }
  const result: SbomElement = {
    ref: String(value.SPDXID ?? ""),
    name: String(value.name ?? ""),
    licenses: licenses(value, extracted),
    properties,
  };
  const version = text(value.versionInfo);
  if (version) result.version = version;
  if (purl) result.purl = purl;
  const sourceInfo = text(value.sourceInfo);
  if (sourceInfo) result.sourceInfo = sourceInfo;
  return result;
}

/** licenseDeclared, else licenseConcluded; a lone LicenseRef reads back as the text it stands for. */
function licenses(value: Json, extracted: Map<string, string>): string[] {
  for (const field of ["licenseDeclared", "licenseConcluded"]) {
    const expression = text(value[field])?.trim();
    if (!expression || NO_VALUE.has(expression)) continue;
    return [extracted.get(expression) ?? expression];
  }
  return [];
}

function sha256Checksum(value: unknown): string | undefined {
  if (!Array.isArray(value)) return undefined;
  for (const checksum of value) {
    if (isObject(checksum) && checksum.algorithm === "SHA256" && typeof checksum.checksumValue === "string") {
      return checksum.checksumValue.toLowerCase();
    }
  }
  return undefined;
}
