/**
 * The tests' own push client over the OCI distribution API (monolithic POST + PUT uploads,
 * manifest PUTs), independent of the registry client under test so that what a scan reads back
 * can be compared with what was pushed.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import http from "node:http";
import https from "node:https";
import type { BuiltImage, BuiltIndex } from "./image-builder.js";

export interface PushTarget {
  /** http(s)://host:port */
  baseUrl: string;
  /** Authorization header value for pushes (Basic ... or Bearer ...), if the registry needs one. */
  authorization?: string | ((repository: string) => string);
  /** CA (PEM) trusted for https registries. */
  ca?: string;
}

interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

function send(
  target: PushTarget,
  repository: string,
  method: string,
  url: URL,
  headers: Record<string, string>,
  body?: Buffer,
): Promise<RawResponse> {
  const auth = typeof target.authorization === "function" ? target.authorization(repository) : target.authorization;
  const allHeaders: Record<string, string> = { ...headers, ...(auth ? { Authorization: auth } : {}) };
  if (body) allHeaders["Content-Length"] = String(body.length);
  const client = url.protocol === "https:" ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.request(url, { method, headers: allHeaders, ca: target.ca }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}

function expectStatus(response: RawResponse, wanted: number, what: string): void {
  if (response.status !== wanted) {
    throw new Error(`${what}: HTTP ${response.status} ${response.body.toString("utf8").slice(0, 500)}`);
  }
}

export function sha256(data: Buffer): string {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

export async function pushBlob(
  target: PushTarget,
  repository: string,
  data: Buffer,
  digest = sha256(data),
): Promise<string> {
  const start = await send(
    target,
    repository,
    "POST",
    new URL(`${target.baseUrl}/v2/${repository}/blobs/uploads/`),
    {},
  );
  expectStatus(start, 202, `start upload of ${digest}`);
  const location = new URL(String(start.headers.location), target.baseUrl);
  location.searchParams.set("digest", digest);
  const put = await send(target, repository, "PUT", location, { "Content-Type": "application/octet-stream" }, data);
  expectStatus(put, 201, `upload of ${digest}`);
  return digest;
}

export async function pushManifest(
  target: PushTarget,
  repository: string,
  reference: string,
  mediaType: string,
  body: Buffer,
): Promise<string> {
  const put = await send(
    target,
    repository,
    "PUT",
    new URL(`${target.baseUrl}/v2/${repository}/manifests/${reference}`),
    { "Content-Type": mediaType },
    body,
  );
  expectStatus(put, 201, `manifest ${repository}:${reference}`);
  return sha256(body);
}

/** Pushes a built image's blobs and manifest; returns the manifest digest. */
export async function pushImage(
  target: PushTarget,
  repository: string,
  image: BuiltImage,
  tag?: string,
): Promise<string> {
  for (const [digest, blob] of image.blobs) {
    if (digest !== image.manifestDigest) await pushBlob(target, repository, blob, digest);
  }
  return pushManifest(target, repository, tag ?? image.manifestDigest, image.manifestMediaType, image.manifestBlob);
}

/**
 * Pushes an index with everything under it: blobs first, then child manifests (nested indexes
 * depth-first), then the index itself, since the registry refuses references to unknown manifests.
 */
export async function pushIndex(
  target: PushTarget,
  repository: string,
  built: BuiltIndex,
  tag: string,
): Promise<string> {
  for (const [digest, blob] of built.blobs) await pushBlob(target, repository, blob, digest);
  const pushChildren = async (index: Record<string, unknown>): Promise<void> => {
    for (const descriptor of index["manifests"] as Array<{ mediaType: string; digest: string }>) {
      const body = built.blobs.get(descriptor.digest);
      if (!body) throw new Error(`index child ${descriptor.digest} is not among the built blobs`);
      if (descriptor.mediaType.includes("index") || descriptor.mediaType.includes("list")) {
        await pushChildren(JSON.parse(body.toString("utf8")) as Record<string, unknown>);
      }
      await pushManifest(target, repository, descriptor.digest, descriptor.mediaType, body);
    }
  };
  await pushChildren(built.index);
  const mediaType = String(built.index["mediaType"]);
  return pushManifest(target, repository, tag, mediaType, built.indexBlob);
}

/** One file out of an OCI archive, read with tar(1) so the archive source under test is not involved. */
export function readArchiveFile(archive: string, member: string): Buffer {
  return execFileSync("tar", ["-xOf", archive, member], { maxBuffer: 1 << 30 });
}

export function readArchiveBlob(archive: string, digest: string): Buffer {
  return readArchiveFile(archive, `blobs/${digest.replace(":", "/")}`);
}

const INDEX_TYPES = new Set([
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
]);

/**
 * Pushes what an OCI archive's index.json names first (an image or a whole index tree) under
 * `tag`: every blob in the archive, then manifests bottom-up. Returns the top manifest digest.
 */
export async function pushArchive(
  target: PushTarget,
  repository: string,
  archive: string,
  tag: string,
): Promise<string> {
  const members = execFileSync("tar", ["-tf", archive], { encoding: "utf8", maxBuffer: 1 << 26 })
    .split("\n")
    .filter((m) => /^blobs\/sha256\/[0-9a-f]{64}$/.test(m));
  for (const member of members) {
    await pushBlob(
      target,
      repository,
      readArchiveFile(archive, member),
      `sha256:${member.slice("blobs/sha256/".length)}`,
    );
  }
  const pushTree = async (descriptor: { mediaType: string; digest: string }, reference: string): Promise<string> => {
    const body = readArchiveBlob(archive, descriptor.digest);
    if (INDEX_TYPES.has(descriptor.mediaType)) {
      const index = JSON.parse(body.toString("utf8")) as { manifests: Array<{ mediaType: string; digest: string }> };
      for (const child of index.manifests) await pushTree(child, child.digest);
    }
    return pushManifest(target, repository, reference, descriptor.mediaType, body);
  };
  const top = JSON.parse(readArchiveFile(archive, "index.json").toString("utf8")) as {
    manifests: Array<{ mediaType: string; digest: string }>;
  };
  return pushTree(top.manifests[0]!, tag);
}

/** A JSON blob of an OCI archive, parsed. */
export function readArchiveJson<T>(archive: string, digest: string): T {
  return JSON.parse(readArchiveBlob(archive, digest).toString("utf8")) as T;
}

export function basicAuthorization(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
}
