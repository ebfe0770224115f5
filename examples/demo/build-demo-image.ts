/**
 * Rebuilds examples/demo/demo-image.oci.tar, the small image the README scans, and examples/demo/db,
 * the small vulnerability database it is scanned against. The image's files are real: Debian 12's
 * dpkg status and release files from ../shared/images/debian (built by debootstrap), installed npm
 * packages from syft's test fixtures, and trivy's cargo-auditable Rust binary fixture; the Python
 * layer holds dist-info METADATA for old releases of popular packages. The database is compiled from
 * real records in ../shared/vulns only: the PyPA advisories for those packages, GitHub's reviewed
 * advisories (GHSA, with their severity and CVSS vectors) for every demo Python finding, NVD CVE API
 * 2.0 records (CVSS vectors) and the Debian tracker sample (licences in NOTICE.md). The layers mimic
 * a Dockerfile: base, app, pip install, clean-up.
 *
 *   npx tsx examples/demo/build-demo-image.ts
 */
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { buildDatabase } from "../../core/src/vulndb/build.js";
import { buildImage, buildLayer, writeOciArchive, type LayerEntry } from "../../core/test/helpers/image-builder.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const shared = path.resolve(here, "../../../shared");
const debianArchive = path.join(shared, "images/debian/bookworm-minbase.oci-archive.tar");

function run(command: string, args: string[], input?: Buffer): Buffer {
  const result = spawnSync(command, args, { input, maxBuffer: 1 << 30 });
  if (result.status !== 0) throw new Error(`${command} ${args.join(" ")}: ${result.stderr.toString().trim()}`);
  return result.stdout;
}

/** Reads files from the single gzip layer of the Debian OCI archive. */
function debianFiles(paths: string[]): Map<string, Buffer> {
  const index = JSON.parse(run("tar", ["-xOf", debianArchive, "index.json"]).toString()) as { manifests: { digest: string }[] };
  const manifest = JSON.parse(run("tar", ["-xOf", debianArchive, `blobs/sha256/${index.manifests[0]!.digest.slice(7)}`]).toString()) as {
    layers: { digest: string }[];
  };
  const layer = run("tar", ["-xOf", debianArchive, `blobs/sha256/${manifest.layers[0]!.digest.slice(7)}`]);
  return new Map(paths.map((file) => [file, run("tar", ["-xzOf", "-", file], layer)]));
}

const base = debianFiles(["var/lib/dpkg/status", "usr/lib/os-release", "etc/debian_version"]);
const npmFixtures = path.join(shared, "fixtures/syft/javascript/testdata/pkg-lock/node_modules");
const appModules = ["@actions/core", "cowsay"].map((name) => ({
  path: `usr/src/app/node_modules/${name}/package.json`,
  content: readFileSync(path.join(npmFixtures, name, "package.json")),
}));

/** Old releases with published PYSEC advisories, so the demo shows real findings. */
const PYTHON_PACKAGES: [directory: string, name: string, version: string, license: string][] = [
  ["django", "Django", "3.2.0", "BSD-3-Clause"],
  ["cryptography", "cryptography", "3.3.1", "Apache-2.0 OR BSD-3-Clause"],
  ["requests", "requests", "2.25.0", "Apache-2.0"],
  ["urllib3", "urllib3", "1.26.4", "MIT"],
  ["pyyaml", "PyYAML", "5.3", "MIT"],
  ["jinja2", "Jinja2", "2.11.2", "BSD-3-Clause"],
];
const sitePackages = "usr/local/lib/python3.11/site-packages";
const pythonLayer: LayerEntry[] = PYTHON_PACKAGES.map(([, name, version, license]) => ({
  path: `${sitePackages}/${name}-${version}.dist-info/METADATA`,
  content: `Metadata-Version: 2.1\nName: ${name}\nVersion: ${version}\nLicense: ${license}\n`,
}));
pythonLayer.push({
  path: "usr/local/bin/rust-demo",
  content: readFileSync(path.join(shared, "fixtures/binaries/rust/trivy-executable_rust")),
  mode: 0o755,
});

const layers: LayerEntry[][] = [
  [
    ...[...base].map(([file, content]) => ({ path: file, content })),
    { path: "etc/os-release", type: "symlink" as const, linkname: "../usr/lib/os-release" },
  ],
  [...appModules, { path: "usr/src/app/node_modules/left-pad-tmp/package.json", content: '{"name":"left-pad-tmp","version":"0.0.1"}\n' }],
  pythonLayer,
  // A later RUN removes a temporary package: it must not appear in the inventory.
  [{ path: "usr/src/app/node_modules/.wh.left-pad-tmp" }],
];

const built = await Promise.all(layers.map((entries) => buildLayer(entries)));
const image = buildImage({
  layers: built,
  history: [
    { created_by: "debootstrap --variant=minbase bookworm (Debian 12)" },
    { created_by: "COPY node_modules /usr/src/app/node_modules" },
    { created_by: "RUN pip install Django==3.2.0 cryptography==3.3.1 requests==2.25.0 PyYAML==5.3 Jinja2==2.11.2 && cp rust-demo /usr/local/bin/" },
    { created_by: "RUN rm -rf /usr/src/app/node_modules/left-pad-tmp" },
  ],
  annotations: { "org.opencontainers.image.title": "stowaway demo" },
});
const output = path.join(here, "demo-image.oci.tar");
await writeOciArchive(output, { images: [{ image, tag: "demo" }] });
console.log(`wrote ${path.relative(process.cwd(), output)} (${image.manifestDigest})`);

// The database: only the advisories the demo needs, copied to a temp folder so that what it records
// as its origin is a stable relative name rather than this machine's path.
const staging = mkdtempSync(path.join(os.tmpdir(), "stowaway-demo-vulns-"));
try {
  for (const [directory] of PYTHON_PACKAGES) {
    cpSync(path.join(shared, "vulns/osv-pypi", directory), path.join(staging, "osv-pypi", directory), { recursive: true });
  }
  cpSync(path.join(shared, "vulns/osv-ghsa/demo"), path.join(staging, "osv-ghsa"), { recursive: true });
  cpSync(path.join(shared, "vulns/nvd-api-2.0"), path.join(staging, "nvd-api-2.0"), { recursive: true });
  cpSync(path.join(shared, "vulns/debian-security-tracker/debian.json.sample"), path.join(staging, "debian-tracker.json"));
  const dbDir = path.join(here, "db");
  rmSync(dbDir, { recursive: true, force: true });
  const cwd = process.cwd();
  process.chdir(staging);
  try {
    const metadata = await buildDatabase({
      from: ["osv-pypi", "osv-ghsa", "nvd-api-2.0", "debian-tracker.json"],
      dbDir,
      warn: (message) => console.warn(message),
    });
    console.log(`wrote ${path.relative(cwd, dbDir)} (${metadata.records} records)`);
  } finally {
    process.chdir(cwd);
  }
} finally {
  rmSync(staging, { recursive: true, force: true });
}
