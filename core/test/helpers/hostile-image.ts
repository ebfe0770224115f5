/**
 * A hostile image and a hostile advisory for log-safety tests: package names, versions, the OS name,
 * tags, platforms and file paths carry CI commands (`::error::`, `##vso[`, `##[error]`,
 * `##teamcity[`), ANSI escapes, C1 CSI, carriage returns and Unicode separators. Built with the
 * image builder and compiled into a real database with core's own `buildDatabase`, so every front end
 * (CLI, each adapter harness) can scan them and check its log with `unsafeLines`.
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { buildDatabase } from "../../src/vulndb/build.js";
import { buildImage, buildIndex, buildLayer, writeOciArchive, writeOciLayout } from "./image-builder.js";
import { HOSTILE } from "./log-safety.js";

/** Matched by the hostile advisory (Debian 12, fixed in 1.0-2), so it becomes a CRITICAL finding. */
export const HOSTILE_MATCHED_PACKAGE = `evil${HOSTILE.azure}`;
export const HOSTILE_PACKAGES = [
  { name: HOSTILE_MATCHED_PACKAGE, version: "1.0-1" },
  { name: `ansi${HOSTILE.ansi}${HOSTILE.c1}`, version: "2.0" },
  { name: `tc${HOSTILE.teamcity}`, version: `3.0${HOSTILE.azureFormat}` },
  { name: `gh${HOSTILE.separator}`, version: `4.0${HOSTILE.github}` },
] as const;
export const HOSTILE_NPM_PACKAGE = { name: HOSTILE.github, version: "1.0.0" };
/** A directory name in the image, so package locations carry it. */
export const HOSTILE_DIR = `dir${HOSTILE.ansi}${HOSTILE.cr}${HOSTILE.azure}`;
export const HOSTILE_PRETTY_NAME = `${HOSTILE.github} ${HOSTILE.ansi}`;
export const HOSTILE_ADVISORY_ID = "CVE-2099-0001";
export const HOSTILE_SUMMARY = Object.values(HOSTILE).join(" ");
export const HOSTILE_TAGS = [`v1${HOSTILE.cr}${HOSTILE.github}`, HOSTILE.azure, `t${HOSTILE.ansi}${HOSTILE.teamcity}`];
export const HOSTILE_ARCHITECTURE = `arm64${HOSTILE.azure}`;

export interface HostileFixture {
  /** `oci-archive:FILE` of the hostile image. */
  target: string;
  archive: string;
  /** An OCI layout whose manifests are tagged with HOSTILE_TAGS (ask for another tag: error path). */
  taggedLayout: string;
  /** An OCI layout with an index of two images on hostile platforms (ask for linux/amd64: error path). */
  platformLayout: string;
  /** The compiled database holding the hostile advisory. */
  db: string;
}

function dpkgStatus(): string {
  return HOSTILE_PACKAGES.map(
    (pkg) =>
      `Package: ${pkg.name}\nStatus: install ok installed\nArchitecture: amd64\nVersion: ${pkg.version}\nDescription: ${HOSTILE.azure}\n`,
  ).join("\n");
}

function advisory(): Record<string, unknown> {
  return {
    schema_version: "1.6.0",
    id: HOSTILE_ADVISORY_ID,
    modified: "2026-01-01T00:00:00Z",
    published: "2026-01-01T00:00:00Z",
    summary: HOSTILE_SUMMARY,
    details: Object.values(HOSTILE).join("\n"),
    severity: [{ type: "CVSS_V3", score: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H" }],
    affected: [
      {
        package: { ecosystem: "Debian:12", name: HOSTILE_MATCHED_PACKAGE },
        ranges: [{ type: "ECOSYSTEM", events: [{ introduced: "0" }, { fixed: "1.0-2" }] }],
      },
    ],
    references: [{ type: "WEB", url: `https://example.test/${encodeURIComponent(HOSTILE.azure)}` }],
  };
}

export async function writeHostileFixture(dir: string): Promise<HostileFixture> {
  await mkdir(dir, { recursive: true });
  const layer = await buildLayer([
    {
      path: "etc/os-release",
      content: `ID=debian\nVERSION_ID="12"\nNAME="${HOSTILE.azureFormat}"\nPRETTY_NAME="${HOSTILE_PRETTY_NAME}"\n`,
    },
    { path: "var/lib/dpkg/status", content: dpkgStatus() },
    {
      path: `usr/lib/node_modules/${HOSTILE_DIR}/package.json`,
      content: JSON.stringify(HOSTILE_NPM_PACKAGE),
    },
  ]);
  const image = buildImage({ layers: [layer] });
  const archive = path.join(dir, "hostile.oci.tar");
  await writeOciArchive(archive, { images: [{ image }] });

  const taggedLayout = path.join(dir, "tagged");
  await writeOciLayout(taggedLayout, { images: HOSTILE_TAGS.map((tag) => ({ image, tag })) });

  const platformLayout = path.join(dir, "platforms");
  const other = await buildLayer([{ path: "etc/hostname", content: "x\n" }]);
  await writeOciLayout(platformLayout, {
    index: buildIndex([
      buildImage({ layers: [other], platform: { os: "linux", architecture: HOSTILE_ARCHITECTURE } }),
      buildImage({ layers: [other], platform: { os: `${HOSTILE.github}`, architecture: "s390x" } }),
    ]),
  });

  const advisories = path.join(dir, "advisories");
  await mkdir(advisories, { recursive: true });
  await writeFile(path.join(advisories, `${HOSTILE_ADVISORY_ID}.json`), JSON.stringify(advisory()));
  const db = path.join(dir, "db");
  await buildDatabase({ from: [advisories], dbDir: db, now: new Date("2026-06-01T00:00:00Z") });
  return { target: `oci-archive:${archive}`, archive, taggedLayout, platformLayout, db };
}
