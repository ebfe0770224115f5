import { createHash } from "node:crypto";
import path from "node:path";
import type * as SpdxModule from "@cyclonedx/cyclonedx-library/SPDX";
import type * as PackageUrlModule from "packageurl-js";
import type { Package } from "../../catalog/types.js";
import { parseRegistryReference, DOCKER_HUB_REGISTRY } from "../../image/reference.js";
import type { ScanResult } from "../../result.js";

import { lazyDependency } from "../../lazy-dependency.js";

/* eslint-disable @typescript-eslint/no-require-imports -- loaded on first use, see lazyDependency */
const spdx = lazyDependency<typeof SpdxModule>("@cyclonedx/cyclonedx-library/SPDX", () =>
  require("@cyclonedx/cyclonedx-library/SPDX"),
);
/* eslint-enable @typescript-eslint/no-require-imports */
// eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use, see lazyDependency
const packageUrl = lazyDependency<typeof PackageUrlModule>("packageurl-js", () => require("packageurl-js"));

/** Options shared by the SBOM renderers. */
export interface SbomRenderOptions {
  /**
   * Creation time written into the document; defaults to now. Pass a fixed date (e.g. from
   * SOURCE_DATE_EPOCH) for byte-identical output across reruns.
   */
  timestamp?: Date;
}

/** Property and annotation keys Stowaway writes and reads back (CycloneDX property taxonomy style). */
export const PROPERTY = {
  layerIndex: "stowaway:layerIndex",
  layerDigest: "stowaway:layerDigest",
  location: "stowaway:location",
  sourcePackage: "stowaway:sourcePackage",
  bundled: "stowaway:bundled",
  ecosystem: "stowaway:ecosystem",
  packageId: "stowaway:packageId",
  configDigest: "stowaway:configDigest",
  platform: "stowaway:platform",
  osFamily: "stowaway:os:family",
  osVersion: "stowaway:os:version",
  osCodename: "stowaway:os:codename",
  osEcosystem: "stowaway:os:ecosystem",
  layer: "stowaway:layer",
  findingId: "stowaway:findingId",
  suppressed: "stowaway:suppressed",
  kev: "stowaway:kev",
  epss: "stowaway:epss",
} as const;

// Fixed namespace for name-based (v5) UUIDs of Stowaway SBOM documents; never change it, or
// every previously generated serial number/namespace stops being reproducible.
const STOWAWAY_UUID_NAMESPACE = "6d1c6a1e-58f4-4b7e-9a53-7f3c0f6b2c41";

/** RFC 4122 version 5 UUID of `name` in Stowaway's namespace. */
export function uuidV5(name: string): string {
  const namespace = Buffer.from(STOWAWAY_UUID_NAMESPACE.replace(/-/g, ""), "hex");
  const bytes = createHash("sha1").update(namespace).update(name, "utf8").digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * The document UUID: derived from the image digest and everything the document is built from, so a
 * rerun over the same image and inventory yields the same id, while any change in packages or
 * findings (a newer vulnerability database) yields a new one. CycloneDX treats serialNumber+version
 * as a document's identity (BOM-Link), so two different documents must never share it.
 */
export function documentUuid(result: ScanResult, format: string): string {
  const content = createHash("sha256").update(JSON.stringify(result)).digest("hex");
  return uuidV5(`${format}\n${result.artifact.manifestDigest}\n${content}`);
}

/** Package types installed by the OS package manager: these belong to the OS component. */
const OS_PACKAGE_TYPES = new Set(["deb", "apk", "rpm", "alpm", "opkg"]);

export function isOsPackage(pkg: Package): boolean {
  return OS_PACKAGE_TYPES.has(pkg.type);
}

export function hasKnownOs(result: ScanResult): boolean {
  const family = result.artifact.os.family;
  return Boolean(family) && family !== "unknown";
}

export function platformString(result: ScanResult): string {
  const { os, architecture, variant } = result.artifact.platform;
  return [os, architecture, variant].filter(Boolean).join("/");
}

/** `sha256:<hex>` split for checksum fields; undefined for anything else. */
export function splitDigest(digest: string): { algorithm: "sha256" | "sha512"; hex: string } | undefined {
  const match = /^(sha256|sha512):([a-f0-9]{64,128})$/.exec(digest);
  return match ? { algorithm: match[1] as "sha256" | "sha512", hex: match[2]! } : undefined;
}

/** Display name and purl of the scanned image. */
export interface ImageIdentity {
  name: string;
  purl: string;
}

const FILE_TARGET = /^(?:docker-archive|oci-archive|oci|oci-dir|sbom|archive):(?!\/\/)(.*)$/s;

/**
 * The image as a `pkg:oci` purl (purl-spec types/oci): the name is the last repository path
 * segment, the version the manifest digest; registry images also get repository_url and tag.
 * Archives and layouts have no repository, so their file name stands in for the name.
 */
export function imageIdentity(result: ScanResult): ImageIdentity {
  const { reference, manifestDigest, platform } = result.artifact;
  const qualifiers: Record<string, string> = {};
  if (platform.architecture) qualifiers.arch = platform.architecture;
  let name: string | undefined;
  const fileTarget = FILE_TARGET.exec(reference);
  if (!fileTarget && !looksLikeFile(reference)) {
    try {
      const ref = parseRegistryReference(reference.replace(/^(?:docker|registry):\/\//, ""));
      name = ref.repository.split("/").pop()!;
      const host = ref.registry === DOCKER_HUB_REGISTRY ? "docker.io" : ref.registry;
      qualifiers.repository_url = `${host}/${ref.repository}`;
      if (ref.tag) qualifiers.tag = ref.tag;
    } catch {
      name = undefined;
    }
  }
  if (!name) name = fileStem(fileTarget ? fileTarget[1]! : reference);
  let purl = "";
  try {
    purl = new (packageUrl().PackageURL)(
      "oci",
      undefined,
      name,
      manifestDigest || undefined,
      qualifiers,
      undefined,
    ).toString();
  } catch {
    purl = "";
  }
  return { name: reference || name, purl };
}

function looksLikeFile(text: string): boolean {
  return (
    /^(?:\/|\.{1,2}\/|~)/.test(text) || /\.(?:tar|tar\.gz|tgz|tar\.zst|oci|json)$/i.test(text) || text.includes("\\")
  );
}

/** `images/debian-12.oci.tar:latest` → `debian-12`: oci purl names are lowercase. */
function fileStem(file: string): string {
  const base = path.basename(file.replace(/:[^/:]*$/, (tail) => (tail.includes(".") ? tail : "")));
  const stem = base.replace(/\.(?:tar\.gz|tar\.zst|tgz|tar|oci|json)$/i, "").replace(/\.oci(?:-archive)?$/i, "");
  const cleaned = stem.toLowerCase().replace(/[^a-z0-9._-]+/g, "-");
  return cleaned || "image";
}

/** Characters SPDX allows in an SPDXRef idstring: letters, digits, '.', '-'. */
export function spdxIdString(text: string): string {
  return text.replace(/[^A-Za-z0-9.-]+/g, "-");
}

/**
 * Checks an SPDX license expression (SPDX 2.3 annex D) and returns it with identifiers in their
 * canonical case, or undefined when it is not one. Identifiers are checked against the SPDX
 * license list shipped with the CycloneDX library, so "GPLv2+" or "BSD" are rejected.
 */
export function normalizeSpdxExpression(text: string): string | undefined {
  const tokens = text.trim().match(/\(|\)|[^\s()]+/g);
  if (!tokens || tokens.length === 0) return undefined;
  let position = 0;
  const out: string[] = [];
  const peek = () => tokens[position];
  const operator = (token: string | undefined, word: string) => token !== undefined && token.toUpperCase() === word;

  const simple = (): boolean => {
    const token = peek();
    if (token === undefined) return false;
    const id = licenseId(token);
    if (!id) return false;
    position++;
    out.push(id);
    if (operator(peek(), "WITH")) {
      position++;
      const exception = peek();
      const exceptionId = exception === undefined ? undefined : exceptionIdOf(exception);
      if (!exceptionId) return false;
      position++;
      out.push("WITH", exceptionId);
    }
    return true;
  };
  const term = (): boolean => {
    if (peek() === "(") {
      position++;
      out.push("(");
      if (!expression()) return false;
      if (peek() !== ")") return false;
      position++;
      out.push(")");
      return true;
    }
    return simple();
  };
  const expression = (): boolean => {
    if (!term()) return false;
    while (operator(peek(), "AND") || operator(peek(), "OR")) {
      out.push(peek()!.toUpperCase());
      position++;
      if (!term()) return false;
    }
    return true;
  };
  if (!expression() || position !== tokens.length) return undefined;
  return out.join(" ").replace(/\( /g, "(").replace(/ \)/g, ")");
}

function licenseId(token: string): string | undefined {
  if (/^(?:DocumentRef-[A-Za-z0-9.-]+:)?LicenseRef-[A-Za-z0-9.-]+$/.test(token)) return token;
  const plus = token.endsWith("+");
  const fixed = spdx().fixupSpdxId(plus ? token.slice(0, -1) : token);
  if (!fixed || isException(fixed)) return undefined;
  return plus ? `${fixed}+` : fixed;
}

function exceptionIdOf(token: string): string | undefined {
  const fixed = spdx().fixupSpdxId(token);
  return fixed && spdx().isSupportedSpdxId(fixed) ? fixed : undefined;
}

/** A single SPDX license id (no operators), canonical case; undefined otherwise. */
export function spdxLicenseId(text: string): string | undefined {
  const fixed = spdx().fixupSpdxId(text.trim());
  return fixed && !isException(fixed) ? fixed : undefined;
}

// The CycloneDX list mixes licenses and exceptions; exception ids are the only ones naming themselves so.
function isException(id: string): boolean {
  return /exception|syscall-note/i.test(id);
}

/** Where a package came from, for `stowaway:sourcePackage`: `name@version` or just `name`. */
export function sourcePackageValue(pkg: Package): string | undefined {
  if (!pkg.source) return undefined;
  return pkg.source.version ? `${pkg.source.name}@${pkg.source.version}` : pkg.source.name;
}
