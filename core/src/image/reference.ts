import { statSync } from "node:fs";
import path from "node:path";
import { ImageError, quoteInput } from "../errors.js";
import { parseDigest } from "./digest.js";
import { sniffFile } from "./archive-file.js";
import { indexTarFile } from "./tar-index.js";

/** A normalised registry image reference (Docker's rules: docker.io aliases, library/, latest). */
export interface RegistryReference {
  /** API host[:port], e.g. registry-1.docker.io, ghcr.io, localhost:5000. */
  registry: string;
  /** Full repository path, e.g. library/alpine. */
  repository: string;
  tag?: string;
  digest?: string;
}

export type Target =
  | { kind: "docker-archive"; path: string; reference: string }
  | { kind: "oci-archive"; path: string; reference: string }
  /** A compressed archive given as a bare path: its format is detected after decompression. */
  | { kind: "archive"; path: string; reference: string }
  | { kind: "oci-dir"; path: string; tag?: string; digest?: string; reference: string }
  | { kind: "sbom"; path: string; reference: string }
  | { kind: "registry"; ref: RegistryReference; reference: string };

export type TargetKind = Target["kind"];

export const DOCKER_HUB_REGISTRY = "registry-1.docker.io";
const DOCKER_HUB_ALIASES = new Set(["docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"]);
/**
 * skopeo/stereoscope transports we do not read. "docker:" and "podman:" are left out on purpose:
 * `docker:dind` and `podman:latest` are real image names.
 */
const UNSUPPORTED_TRANSPORTS = ["docker-daemon", "containers-storage", "containerd", "singularity"];

const TAG = /^[\w][\w.-]{0,127}$/;
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const HOST =
  /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::\d{1,5})?$|^\[[0-9a-fA-F:]+\](?::\d{1,5})?$/;

/** Parses the CLI TARGET argument. Bare paths that exist are inspected to pick their format. */
export function parseTarget(text: string): Target {
  const reference = text;
  const trimmed = text.trim();
  if (trimmed === "") throw new ImageError("no image given; pass an image reference, an archive path or oci:DIR");

  const transport = /^(?:docker|registry):\/\/(.+)$/s.exec(trimmed);
  if (transport) return { kind: "registry", ref: parseRegistryReference(transport[1]!), reference };

  const scheme = /^([a-z][a-z0-9-]*):(?!\/\/)(.*)$/s.exec(trimmed);
  if (scheme) {
    const [, prefix, rest] = scheme as unknown as [string, string, string];
    switch (prefix) {
      case "docker-archive":
      case "oci-archive":
        return { kind: prefix, path: requirePath(rest, prefix), reference };
      case "oci":
      case "oci-dir":
        return { kind: "oci-dir", ...parseLayoutPath(requirePath(rest, prefix)), reference };
      case "sbom":
        return { kind: "sbom", path: requirePath(rest, prefix), reference };
      case "registry":
        return { kind: "registry", ref: parseRegistryReference(rest), reference };
      default:
        if (UNSUPPORTED_TRANSPORTS.includes(prefix)) {
          throw new ImageError(
            `${quoteInput(text)}: ${prefix}: sources are not supported here; export the image (docker save -o image.tar) and pass the archive`,
          );
        }
    }
  }

  const existing = statOrUndefined(trimmed);
  if (existing) return detectPath(trimmed, existing.isDirectory(), reference);
  if (looksLikePath(trimmed)) throw new ImageError(`${trimmed}: no such file or directory`);
  return { kind: "registry", ref: parseRegistryReference(trimmed), reference };
}

function requirePath(rest: string, prefix: string): string {
  if (rest === "") throw new ImageError(`${prefix}: needs a path, e.g. ${prefix}:./image.tar`);
  return rest;
}

function statOrUndefined(file: string): ReturnType<typeof statSync> | undefined {
  try {
    return statSync(file);
  } catch {
    return undefined;
  }
}

function looksLikePath(text: string): boolean {
  return /^(?:\/|\.{1,2}\/|~)/.test(text) || /\.(?:tar|tar\.gz|tgz|oci|json)$/i.test(text) || text.includes("\\");
}

/** `DIR[:TAG|@DIGEST]`; a directory whose own name contains ':' or '@' still wins when it exists. */
function parseLayoutPath(spec: string): { path: string; tag?: string; digest?: string } {
  if (statOrUndefined(spec)?.isDirectory()) return { path: spec };
  const at = spec.lastIndexOf("@");
  if (at > 0 && /^(sha256|sha512):/.test(spec.slice(at + 1))) {
    const digest = spec.slice(at + 1);
    parseDigest(digest, `oci:${spec}`);
    return { path: spec.slice(0, at), digest };
  }
  const colon = spec.lastIndexOf(":");
  if (colon > spec.lastIndexOf("/") && colon > 0) {
    const tag = spec.slice(colon + 1);
    // ref.name in an OCI layout may be any string, but a tag-like one is what every tool writes.
    if (tag !== "" && !tag.includes("/")) return { path: spec.slice(0, colon), tag };
  }
  return { path: spec };
}

function detectPath(file: string, isDirectory: boolean, reference: string): Target {
  if (isDirectory) {
    if (statOrUndefined(path.join(file, "index.json")) || statOrUndefined(path.join(file, "oci-layout"))) {
      return { kind: "oci-dir", path: file, reference };
    }
    throw new ImageError(`${file}: directory is not an OCI image layout (no index.json or oci-layout)`);
  }
  if (sniffFile(file) !== "none") return { kind: "archive", path: file, reference };
  return { kind: detectArchiveKind(new Set(indexTarFile(file).keys()), file), path: file, reference };
}

/**
 * OCI when index.json and oci-layout are both present (Docker 25+ and containerd write
 * manifest.json too, but the OCI side also has manifest digests); manifest.json otherwise.
 */
export function detectArchiveKind(members: Set<string>, label: string): "oci-archive" | "docker-archive" {
  if (members.has("index.json") && members.has("oci-layout")) return "oci-archive";
  if (members.has("manifest.json")) return "docker-archive";
  if (members.has("index.json")) return "oci-archive";
  throw new ImageError(
    `${label}: not an image archive (no manifest.json from docker save, no index.json from an OCI layout); use sbom:FILE for SBOMs`,
  );
}

/** Parses `HOST[:PORT]/REPO[:TAG][@DIGEST]` following Docker's normalisation rules. */
export function parseRegistryReference(text: string): RegistryReference {
  const input = text.trim();
  const fail = (why: string) => new ImageError(`${quoteInput(text)} is not a valid image reference: ${why}`);
  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at !== -1) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    parseDigest(digest, `image reference ${quoteInput(text)}`);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(":");
  if (colon > rest.lastIndexOf("/")) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw fail(`tag ${quoteInput(tag)} must be 1-128 letters, digits, '_', '.', '-'`);
  }
  if (rest === "") throw fail("the repository name is empty");

  const slash = rest.indexOf("/");
  const first = slash === -1 ? "" : rest.slice(0, slash);
  const isHost = first !== "" && (first.includes(".") || first.includes(":") || first === "localhost");
  let registry = isHost ? first : DOCKER_HUB_REGISTRY;
  let repository = isHost ? rest.slice(slash + 1) : rest;
  if (isHost && !HOST.test(registry)) throw fail(`${quoteInput(registry)} is not a valid registry host`);
  if (DOCKER_HUB_ALIASES.has(registry.toLowerCase())) {
    registry = DOCKER_HUB_REGISTRY;
    if (!repository.includes("/")) repository = `library/${repository}`;
  }
  if (repository === "") throw fail("the repository name is empty");
  for (const component of repository.split("/")) {
    if (!PATH_COMPONENT.test(component)) {
      throw fail(
        /[A-Z]/.test(component)
          ? "repository names must be lowercase"
          : `${quoteInput(component)} is not a valid repository path component`,
      );
    }
  }
  if (repository.length > 255) throw fail("the repository name is longer than 255 characters");
  if (!tag && !digest) tag = "latest";
  return { registry, repository, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}) };
}
