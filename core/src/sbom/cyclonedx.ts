import { StowawayError } from "../errors.js";
import { artifactFacts, buildArtifact, osFromElement, osFromPurls, toPackages } from "./convert.js";
import type { SbomElement, SbomInventory } from "./types.js";

/** JSON shapes are identical for components, licenses and properties across these versions. */
const SUPPORTED_VERSIONS = new Set(["1.2", "1.3", "1.4", "1.5", "1.6", "1.7"]);

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function text(value: unknown): string | undefined {
  return typeof value === "string" && value.trim() !== "" ? value : undefined;
}

/** Reads a parsed CycloneDX JSON BOM. `label` names the file in messages. */
export function readCycloneDx(doc: Json, label: string, extraWarnings: string[] = []): SbomInventory {
  const spec = String(doc.specVersion ?? "");
  if (!SUPPORTED_VERSIONS.has(spec)) {
    throw new StowawayError(
      `${label}: CycloneDX specVersion "${spec}" is not supported; regenerate the SBOM as CycloneDX 1.4-1.7 JSON`,
      "SBOM_ERROR",
    );
  }
  if (doc.components !== undefined && !Array.isArray(doc.components)) {
    throw new StowawayError(`${label}: "components" is not a list; the CycloneDX file is malformed`, "SBOM_ERROR");
  }
  const warnings = [...extraWarnings];
  const metadata = isObject(doc.metadata) ? doc.metadata : {};
  const main = isObject(metadata.component) ? element(metadata.component, "metadata.component") : undefined;

  const elements: SbomElement[] = [];
  const osElements: SbomElement[] = [];
  const roots = [
    ...(isObject(metadata.component) && Array.isArray(metadata.component.components)
      ? metadata.component.components
      : []),
    ...((doc.components as unknown[] | undefined) ?? []),
  ];
  // Iterative depth-first walk: nested assemblies (jar in war, ...) are packages too.
  const stack: { value: unknown; path: string }[] = roots
    .map((value, index) => ({ value, path: `components[${index}]` }))
    .reverse();
  let skipped = 0;
  while (stack.length > 0) {
    const { value, path } = stack.pop()!;
    if (!isObject(value)) {
      skipped++;
      continue;
    }
    const current = element(value, path);
    if (value.type === "operating-system" && !current.purl) osElements.push(current);
    else elements.push(current);
    if (Array.isArray(value.components)) {
      for (let index = value.components.length - 1; index >= 0; index--) {
        stack.push({ value: value.components[index], path: `${path}.components[${index}]` });
      }
    }
  }
  if (skipped > 0) warnings.push(`sbom: ${label}: ${skipped} component entr(ies) that are not objects were skipped`);

  const facts = artifactFacts(main);
  const os = facts.os ?? (osElements[0] ? osFromElement(osElements[0]) : undefined) ?? osFromPurls(elements);
  const artifact = buildArtifact({ reference: text(main?.name) ?? label, ...facts }, os);
  const packages = toPackages(elements, { label, os: artifact.os, layers: artifact.layers, warnings });
  return { artifact, packages, warnings, format: `CycloneDX ${spec}` };
}

function element(value: Json, path: string): SbomElement {
  const properties: [string, string][] = [];
  if (Array.isArray(value.properties)) {
    for (const property of value.properties) {
      if (isObject(property) && typeof property.name === "string" && typeof property.value === "string") {
        properties.push([property.name, property.value]);
      }
    }
  }
  const result: SbomElement = {
    ref: text(value["bom-ref"]) ?? path,
    name:
      text(value.group) && value.type !== "container"
        ? `${String(value.group)}/${String(value.name)}`
        : String(value.name ?? ""),
    licenses: licenses(value.licenses),
    properties,
  };
  const version = text(value.version);
  if (version) result.version = version;
  const purl = text(value.purl);
  if (purl) result.purl = purl;
  return result;
}

function licenses(value: unknown): string[] {
  if (!Array.isArray(value)) return [];
  const found: string[] = [];
  for (const entry of value) {
    if (!isObject(entry)) continue;
    const expression = text(entry.expression);
    if (expression) found.push(expression);
    if (isObject(entry.license)) {
      const name = text(entry.license.id) ?? text(entry.license.name);
      if (name) found.push(name);
    }
  }
  return [...new Set(found)];
}
