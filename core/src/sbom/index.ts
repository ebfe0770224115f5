import { readFile, stat } from "node:fs/promises";
import { StowawayError } from "../errors.js";
import { readCycloneDx } from "./cyclonedx.js";
import { readSpdx } from "./spdx.js";
import type { SbomInventory } from "./types.js";

export type { SbomInventory } from "./types.js";
export { distroRelease, purlFacts, type PurlFacts } from "./purl.js";

/** Larger files are almost certainly not an SBOM, and JSON.parse would need several times this in memory. */
const MAX_SBOM_BYTES = 512 * 1024 * 1024;

const IN_TOTO_PAYLOAD = "application/vnd.in-toto+json";

/**
 * Reads a CycloneDX (1.2-1.7) or SPDX (2.2/2.3) JSON SBOM, also inside an in-toto attestation
 * (DSSE envelope or bare statement, as `cosign download attestation` and Trivy write them), into
 * the packages Stowaway matches. Anything else fails with one StowawayError line naming the file.
 */
export async function readSbom(file: string): Promise<SbomInventory> {
  let size: number;
  try {
    size = (await stat(file)).size;
  } catch (error) {
    throw new StowawayError(
      `${file}: cannot read the SBOM (${(error as NodeJS.ErrnoException).code ?? "error"})`,
      "SBOM_ERROR",
      {
        cause: error,
      },
    );
  }
  if (size > MAX_SBOM_BYTES) {
    throw new StowawayError(`${file}: ${size} bytes is too large for an SBOM (limit 512 MiB)`, "SBOM_ERROR");
  }
  const content = (await readFile(file)).toString("utf8").replace(/^\uFEFF/, "");
  return parseSbom(content, file);
}

/** As readSbom, for content already in memory; `label` names the input in messages. */
export function parseSbom(content: string, label: string): SbomInventory {
  const trimmed = content.trimStart();
  if (trimmed.startsWith("<")) {
    throw new StowawayError(`${label}: XML SBOMs are not supported; pass CycloneDX or SPDX JSON`, "SBOM_ERROR");
  }
  if (/^SPDXVersion:/m.test(trimmed) && !trimmed.startsWith("{")) {
    throw new StowawayError(`${label}: SPDX tag-value is not supported; pass SPDX 2.3 JSON`, "SBOM_ERROR");
  }
  let doc: unknown;
  try {
    doc = JSON.parse(trimmed);
  } catch (error) {
    const hint = /^spdxVersion:|^\w[\w-]*:\s/m.test(trimmed) ? " (SPDX YAML is not supported)" : "";
    throw new StowawayError(
      `${label}: not JSON${hint}: ${(error as Error).message}; pass a CycloneDX or SPDX JSON SBOM`,
      "SBOM_ERROR",
      { cause: error },
    );
  }
  const warnings: string[] = [];
  const attestation = unwrapAttestation(doc, label, warnings);
  const sbom = attestation.doc;
  if (!isObject(sbom)) {
    throw new StowawayError(`${label}: the JSON is not an object; pass a CycloneDX or SPDX JSON SBOM`, "SBOM_ERROR");
  }
  let inventory: SbomInventory;
  if (sbom.bomFormat === "CycloneDX") inventory = readCycloneDx(sbom, label, warnings);
  else if (typeof sbom.spdxVersion === "string") inventory = readSpdx(sbom, label, warnings);
  else throw new StowawayError(`${label}: ${describeUnknown(sbom)}; pass a CycloneDX or SPDX JSON SBOM`, "SBOM_ERROR");
  // The statement's subject is the attested image: its digest stands in when the SBOM has none.
  if (!inventory.artifact.manifestDigest && attestation.subjectDigest) {
    inventory.artifact.manifestDigest = attestation.subjectDigest;
  }
  return inventory;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function unwrapAttestation(doc: unknown, label: string, warnings: string[]): { doc: unknown; subjectDigest?: string } {
  let current = doc;
  if (isObject(current) && typeof current.payloadType === "string" && typeof current.payload === "string") {
    if (current.payloadType !== IN_TOTO_PAYLOAD) {
      throw new StowawayError(
        `${label}: DSSE envelope carries "${current.payloadType}", not an in-toto statement with an SBOM`,
        "SBOM_ERROR",
      );
    }
    try {
      current = JSON.parse(Buffer.from(current.payload, "base64").toString("utf8"));
    } catch (error) {
      throw new StowawayError(`${label}: the DSSE payload is not base64-encoded JSON`, "SBOM_ERROR", { cause: error });
    }
    warnings.push(`sbom: ${label}: attestation signature not verified; verify it first (cosign verify-attestation)`);
  }
  if (
    isObject(current) &&
    typeof current._type === "string" &&
    current._type.startsWith("https://in-toto.io/Statement")
  ) {
    if (!isObject(current.predicate)) {
      throw new StowawayError(`${label}: the in-toto statement has no SBOM predicate`, "SBOM_ERROR");
    }
    const subject = Array.isArray(current.subject) ? current.subject[0] : undefined;
    const digest = isObject(subject) && isObject(subject.digest) ? subject.digest.sha256 : undefined;
    return {
      doc: current.predicate,
      ...(typeof digest === "string" && /^[a-f0-9]{64}$/.test(digest) ? { subjectDigest: `sha256:${digest}` } : {}),
    };
  }
  return { doc: current };
}

function describeUnknown(doc: Record<string, unknown>): string {
  if (typeof doc["@context"] === "string" || Array.isArray(doc["@context"])) {
    return String(doc["@context"]).includes("spdx")
      ? "SPDX 3 (JSON-LD) is not supported"
      : "JSON-LD document (OpenVEX?) is not an SBOM";
  }
  if (Array.isArray(doc.artifacts) && isObject(doc.descriptor))
    return "Syft JSON is not supported (use syft -o cyclonedx-json)";
  if ("SchemaVersion" in doc && "ArtifactName" in doc)
    return "Trivy JSON reports are not SBOMs (use trivy --format cyclonedx)";
  if ("bomFormat" in doc) return `bomFormat "${String(doc.bomFormat)}" is not CycloneDX`;
  return "neither CycloneDX (bomFormat) nor SPDX (spdxVersion)";
}
