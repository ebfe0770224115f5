import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from "node:crypto";
import { createReadStream, createWriteStream, mkdirSync, rmSync } from "node:fs";
import { readdir, rename, stat } from "node:fs/promises";
import path from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip, createGzip } from "node:zlib";
import tar from "tar-stream";
import type { DatabaseMetadata } from "./types.js";
import { HostileVulnDataError, VulnDbError } from "./errors.js";
import { METADATA_FILE, LAYOUT_FILE } from "./store/format.js";
import { createStagingDir, installGeneration, removeStaleStaging, resolveGeneration } from "./store/location.js";
import { readIntegrityManifest } from "./store/integrity.js";
import { missingDatabase, readMetadataFile } from "./store/reader.js";
import { verifyGeneration } from "./store/verify.js";

export const BUNDLE_FORMAT = "stowaway-vulndb-bundle";
export const BUNDLE_VERSION = 1;
const MANIFEST = "manifest.json";
/** Optional second member: base64 Ed25519 signature over the manifest's exact bytes. */
const SIGNATURE = "manifest.json.sig";
const MAX_MANIFEST_BYTES = 64 * 1024 * 1024;
const SAFE_PATH = /^[A-Za-z0-9_][A-Za-z0-9._-]*(\/[A-Za-z0-9_][A-Za-z0-9._-]*)*$/;

export interface BundleManifest {
  format: typeof BUNDLE_FORMAT;
  bundleVersion: number;
  schemaVersion: number;
  builtAt: string;
  files: Array<{ path: string; size: number; sha256: string }>;
}

async function listFiles(root: string, dir = ""): Promise<string[]> {
  const out: string[] = [];
  for (const entry of (await readdir(path.join(root, dir), { withFileTypes: true })).sort((a, b) =>
    a.name < b.name ? -1 : 1,
  )) {
    const relative = dir ? `${dir}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...(await listFiles(root, relative)));
    else if (entry.isFile()) out.push(relative);
  }
  return out;
}

async function sha256Of(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/**
 * `stowaway db export`: the live generation as one tar.gz for air-gapped runners. The first member is a
 * manifest with the size and sha256 of every other member, which import verifies.
 */
export interface ExportOptions {
  /** PEM Ed25519 private key: the bundle gets a signature over its manifest (`db export --sign KEY`). */
  signingKey?: string | Buffer;
}

export interface ImportOptions {
  /** PEM Ed25519 public key: the bundle must carry a valid signature by it (`db import --verify KEY`). */
  verifyKey?: string | Buffer;
}

function ed25519Key(pem: string | Buffer, kind: "private" | "public", what: string): KeyObject {
  let key: KeyObject;
  try {
    key = kind === "private" ? createPrivateKey(pem) : createPublicKey(pem);
  } catch (error) {
    throw new VulnDbError(`${what}: not a PEM ${kind} key (${(error as Error).message})`, { cause: error });
  }
  if (key.asymmetricKeyType !== "ed25519") {
    throw new VulnDbError(`${what}: a ${key.asymmetricKeyType ?? "symmetric"} key; bundles are signed with Ed25519`);
  }
  return key;
}

export async function exportDatabase(
  dbDir: string,
  file: string,
  options: ExportOptions = {},
): Promise<BundleManifest> {
  const signingKey = options.signingKey ? ed25519Key(options.signingKey, "private", "signing key") : undefined;
  const generation = resolveGeneration(dbDir);
  if (!generation) throw missingDatabase(dbDir);
  // A damaged database must not travel on with fresh bundle checksums.
  if (readIntegrityManifest(generation)) await verifyGeneration(generation);
  const metadata = await readMetadataFile(generation);
  const files = await listFiles(generation);
  const manifest: BundleManifest = {
    format: BUNDLE_FORMAT,
    bundleVersion: BUNDLE_VERSION,
    schemaVersion: metadata.schemaVersion,
    builtAt: metadata.builtAt,
    files: [],
  };
  for (const relative of files) {
    const full = path.join(generation, relative);
    manifest.files.push({ path: relative, size: (await stat(full)).size, sha256: await sha256Of(full) });
  }
  const target = path.resolve(file);
  mkdirSync(path.dirname(target), { recursive: true });
  const temporary = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.tmp`);
  const pack = tar.pack();
  const writing = pipeline(pack, createGzip(), createWriteStream(temporary));
  try {
    const addEntry = (name: string, size: number, source: Buffer | Readable) =>
      new Promise<void>((resolve, reject) => {
        const header = { name, size, mode: 0o644, mtime: new Date(metadata.builtAt) };
        if (Buffer.isBuffer(source)) {
          pack.entry(header, source, (error) => (error ? reject(error) : resolve()));
        } else {
          const sink = pack.entry(header, (error) => (error ? reject(error) : resolve()));
          source.on("error", reject);
          source.pipe(sink);
        }
      });
    const manifestBytes = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`);
    await addEntry(MANIFEST, manifestBytes.length, manifestBytes);
    if (signingKey) {
      const signature = Buffer.from(`${sign(null, manifestBytes, signingKey).toString("base64")}\n`);
      await addEntry(SIGNATURE, signature.length, signature);
    }
    for (const entry of manifest.files) {
      await addEntry(entry.path, entry.size, createReadStream(path.join(generation, entry.path)));
    }
    pack.finalize();
    await writing;
    await rename(temporary, target);
  } catch (error) {
    pack.destroy();
    await writing.catch(() => undefined);
    rmSync(temporary, { force: true });
    throw error;
  }
  return manifest;
}

function checkManifest(value: unknown, bundle: string): BundleManifest {
  const manifest = value as BundleManifest;
  if (!manifest || manifest.format !== BUNDLE_FORMAT) {
    throw new VulnDbError(
      `${bundle}: ${MANIFEST} is not a ${BUNDLE_FORMAT} manifest; was it made by \`stowaway db export\`?`,
    );
  }
  if (manifest.bundleVersion > BUNDLE_VERSION) {
    throw new VulnDbError(
      `${bundle}: bundleVersion ${manifest.bundleVersion} is newer than this stowaway reads; upgrade stowaway`,
    );
  }
  if (!Array.isArray(manifest.files)) throw new VulnDbError(`${bundle}: ${MANIFEST} field files is not a list`);
  const seen = new Set<string>();
  for (const entry of manifest.files) {
    const ok =
      entry &&
      typeof entry.path === "string" &&
      SAFE_PATH.test(entry.path) &&
      !entry.path.split("/").includes("..") &&
      Number.isSafeInteger(entry.size) &&
      entry.size >= 0 &&
      typeof entry.sha256 === "string" &&
      /^[a-f0-9]{64}$/.test(entry.sha256);
    if (!ok)
      throw new HostileVulnDataError(
        `${bundle}: ${MANIFEST} has an invalid files entry ${JSON.stringify(entry)}; refusing it`,
      );
    if (seen.has(entry.path)) throw new VulnDbError(`${bundle}: ${MANIFEST} lists ${entry.path} twice`);
    seen.add(entry.path);
  }
  if (!seen.has(METADATA_FILE) || !seen.has(LAYOUT_FILE)) {
    throw new VulnDbError(`${bundle}: the bundle lacks ${METADATA_FILE} or ${LAYOUT_FILE}; re-export it`);
  }
  return manifest;
}

async function readAll(stream: AsyncIterable<unknown>, limit: number, bundle: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream) {
    total += (chunk as Buffer).length;
    if (total > limit)
      throw new HostileVulnDataError(`${bundle}: ${MANIFEST} is larger than ${limit} bytes; refusing it`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/**
 * `stowaway db import`: verifies every member of a bundle against its manifest (names, sizes,
 * sha256, nothing missing or extra) while unpacking into a staging directory, then installs it as the
 * live generation. A damaged or tampered bundle leaves the current database untouched.
 */
export async function importDatabase(
  bundle: string,
  dbDir: string,
  options: ImportOptions = {},
): Promise<DatabaseMetadata> {
  const verifyKey = options.verifyKey ? ed25519Key(options.verifyKey, "public", "verification key") : undefined;
  removeStaleStaging(dbDir);
  const staging = createStagingDir(dbDir);
  try {
    const extract = tar.extract();
    const feeding = pipeline(createReadStream(bundle), createGunzip(), extract).catch((error: Error) => {
      extract.destroy(error);
    });
    let manifest: BundleManifest | undefined;
    let manifestBytes: Buffer | undefined;
    let signed = false;
    const expected = new Map<string, { size: number; sha256: string }>();
    const written = new Set<string>();
    try {
      for await (const entry of extract) {
        const { name, type, size } = entry.header;
        if (!manifest) {
          if (name !== MANIFEST || type !== "file") {
            throw new VulnDbError(
              `${bundle}: the first member must be ${MANIFEST}, found ${name}; re-export the bundle`,
            );
          }
          const text = await readAll(entry, MAX_MANIFEST_BYTES, bundle);
          manifestBytes = text;
          let parsed: unknown;
          try {
            parsed = JSON.parse(text.toString("utf8"));
          } catch {
            throw new VulnDbError(`${bundle}: ${MANIFEST} is not valid JSON; re-export the bundle`);
          }
          manifest = checkManifest(parsed, bundle);
          for (const file of manifest.files) expected.set(file.path, file);
          continue;
        }
        if (name === SIGNATURE && type === "file" && written.size === 0 && !signed) {
          signed = true;
          const signature = Buffer.from((await readAll(entry, 1024, bundle)).toString("utf8").trim(), "base64");
          if (verifyKey && !verify(null, manifestBytes!, verifyKey, signature)) {
            throw new VulnDbError(
              `${bundle}: the signature does not match the verification key; the bundle was altered or signed by another key`,
            );
          }
          continue;
        }
        if (verifyKey && !signed) {
          throw new VulnDbError(
            `${bundle}: the bundle is not signed; export it with \`stowaway db export --sign KEY\``,
          );
        }
        const want = expected.get(name);
        if (type !== "file" || !want || written.has(name)) {
          throw new HostileVulnDataError(
            `${bundle}: member ${name} is not listed in ${MANIFEST} (or repeated); refusing the bundle`,
          );
        }
        if (size !== want.size) {
          throw new VulnDbError(
            `${bundle}: member ${name} is ${size} bytes, the manifest says ${want.size}; the bundle is damaged`,
          );
        }
        const target = path.join(staging, ...name.split("/"));
        mkdirSync(path.dirname(target), { recursive: true });
        const hash = createHash("sha256");
        const out = createWriteStream(target);
        let count = 0;
        try {
          for await (const chunk of entry as AsyncIterable<Buffer>) {
            count += chunk.length;
            hash.update(chunk);
            if (!out.write(chunk)) await new Promise<void>((resolve) => out.once("drain", () => resolve()));
          }
        } finally {
          await new Promise<void>((resolve) => out.end(() => resolve()));
        }
        if (count !== want.size || hash.digest("hex") !== want.sha256) {
          throw new VulnDbError(
            `${bundle}: member ${name} does not match its sha256 in ${MANIFEST}; the bundle is damaged`,
          );
        }
        written.add(name);
      }
    } catch (error) {
      if (error instanceof VulnDbError) throw error;
      throw new VulnDbError(`${bundle}: not a readable db bundle (${(error as Error).message}); re-export it`, {
        cause: error,
      });
    }
    await feeding;
    if (!manifest) throw new VulnDbError(`${bundle}: empty or not a db bundle; re-export it`);
    if (verifyKey && !signed) {
      throw new VulnDbError(`${bundle}: the bundle is not signed; export it with \`stowaway db export --sign KEY\``);
    }
    const missing = [...expected.keys()].filter((name) => !written.has(name));
    if (missing.length > 0) {
      throw new VulnDbError(
        `${bundle}: ${missing.length} listed members are missing (first: ${missing[0]}); the bundle is truncated`,
      );
    }
    // The bundle's checksums prove the transfer; the generation's own manifest proves what was exported.
    if (readIntegrityManifest(staging)) await verifyGeneration(staging);
    const metadata = await readMetadataFile(staging);
    await installGeneration(dbDir, staging);
    return metadata;
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    throw error;
  }
}
