import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import yazl from "yazl";

export function tempDir(prefix = "stowaway-vulndb-"): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Every file under `dir`, recursively, as sorted relative paths. */
export function walk(dir: string, base = dir): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) out.push(...walk(full, base));
    else out.push(path.relative(base, full));
  }
  return out;
}

/** relative path → sha256 of every file under `dir`. */
export function treeDigest(dir: string): Record<string, string> {
  return Object.fromEntries(
    walk(dir).map((file) => [
      file,
      createHash("sha256")
        .update(readFileSync(path.join(dir, file)))
        .digest("hex"),
    ]),
  );
}

/** Writes a zip with yazl (an independent writer) holding `members`. */
export function writeZip(file: string, members: Array<{ name: string; data: Buffer }>): Promise<void> {
  return new Promise((resolve, reject) => {
    const zip = new yazl.ZipFile();
    for (const member of members) zip.addBuffer(member.data, member.name);
    const chunks: Buffer[] = [];
    zip.outputStream.on("data", (chunk: Buffer) => chunks.push(chunk));
    zip.outputStream.on("error", reject);
    zip.outputStream.on("end", () => {
      writeFileSync(file, Buffer.concat(chunks));
      resolve();
    });
    zip.end();
  });
}

/** A minimal valid OSV record for one package. */
export function osvRecord(
  id: string,
  ecosystem: string,
  name: string,
  fixed = "2.0.0",
  modified = "2024-01-01T00:00:00Z",
) {
  return {
    schema_version: "1.6.0",
    id,
    modified,
    affected: [
      {
        package: { ecosystem, name },
        ranges: [{ type: "ECOSYSTEM", events: [{ introduced: "0" }, { fixed }] }],
      },
    ],
  };
}
