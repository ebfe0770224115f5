/**
 * Alpine-like test images (os-release + an apk installed database) and Alpine secdb files (the
 * format `db build` ingests), so registry inventory tests run the real catalog -> match chain.
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { buildDatabase } from "../../src/vulndb/build.js";
import { buildImage, buildLayer, type BuiltImage, type TestPlatform } from "../helpers/image-builder.js";

const OS_RELEASE = 'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.19.1\nPRETTY_NAME="Alpine Linux v3.19"\n';

/** name -> version; each package is its own origin. */
export type ApkPackages = Record<string, string>;

export async function alpineImage(packages: ApkPackages, platform?: TestPlatform): Promise<BuiltImage> {
  // The os-release layer is the same in every image: a shared base layer, as in real registries.
  const base = await buildLayer([{ path: "etc/os-release", content: OS_RELEASE }]);
  const installed = Object.entries(packages)
    .map(([name, version]) => `P:${name}\nV:${version}\nA:x86_64\no:${name}\n`)
    .join("\n");
  const top = await buildLayer([{ path: "lib/apk/db/installed", content: `${installed}\n` }]);
  return buildImage({ layers: [base, top], ...(platform ? { platform } : {}) });
}

/** fixed version -> CVE ids, per package: one Alpine v3.19 secdb document. */
export type SecFixes = Record<string, Record<string, string[]>>;

export function secdb(fixes: SecFixes): string {
  return JSON.stringify({
    distroversion: "v3.19",
    reponame: "main",
    archs: ["x86_64"],
    urlprefix: "http://dl-cdn.alpinelinux.org/alpine",
    apkurl: "{{urlprefix}}/{{distroversion}}/{{reponame}}/{{arch}}/{{pkg.name}}-{{pkg.ver}}.apk",
    packages: Object.entries(fixes).map(([name, secfixes]) => ({ pkg: { name, secfixes } })),
  });
}

/** Compiles `fixes` into a vulnerability database at `dbDir` (replacing what is there) as `db build` does. */
export async function buildSecdbDatabase(dir: string, dbDir: string, fixes: SecFixes, now: Date): Promise<void> {
  const input = path.join(dir, `secdb-${now.getTime()}`);
  await mkdir(input, { recursive: true });
  await writeFile(path.join(input, "alpine-v3.19-main.json"), secdb(fixes));
  await buildDatabase({ from: [input], dbDir, now });
}
