/**
 * Rebuilds examples/demo/demo-image.oci.tar, the small image the README scans. Its files are real:
 * Debian 12's dpkg status and release files from ../shared/images/debian (built by debootstrap),
 * and installed npm packages from syft's test fixtures (Apache-2.0; see NOTICE.md). The layers
 * mimic a typical Dockerfile: a base, an app layer, and a clean-up layer with a whiteout.
 *
 *   npx tsx examples/demo/build-demo-image.ts
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
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

const layers: LayerEntry[][] = [
  [
    ...[...base].map(([file, content]) => ({ path: file, content })),
    { path: "etc/os-release", type: "symlink" as const, linkname: "../usr/lib/os-release" },
  ],
  [...appModules, { path: "usr/src/app/node_modules/left-pad-tmp/package.json", content: '{"name":"left-pad-tmp","version":"0.0.1"}\n' }],
  // A later RUN removes a temporary package: it must not appear in the inventory.
  [{ path: "usr/src/app/node_modules/.wh.left-pad-tmp" }],
];

const built = await Promise.all(layers.map((entries) => buildLayer(entries)));
const image = buildImage({
  layers: built,
  history: [
    { created_by: "debootstrap --variant=minbase bookworm (Debian 12)" },
    { created_by: "COPY node_modules /usr/src/app/node_modules" },
    { created_by: "RUN rm -rf /usr/src/app/node_modules/left-pad-tmp" },
  ],
  annotations: { "org.opencontainers.image.title": "stowaway demo" },
});
const output = path.join(here, "demo-image.oci.tar");
await writeOciArchive(output, { images: [{ image, tag: "demo" }] });
console.log(`wrote ${path.relative(process.cwd(), output)} (${image.manifestDigest})`);
