import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { PackageURL } from "packageurl-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createDpkgCataloger,
  createOsDetector,
  withinBound,
  type OsInfo,
  type PackageCandidate,
} from "../../src/catalog/index.js";
import { MemoryView, viewFromDir } from "../helpers/memory-view.js";
import { describeWithShared, sharedPath } from "../helpers/shared.js";

const cataloger = createDpkgCataloger();
const DEBIAN_12: OsInfo = { family: "debian", version: "12", codename: "bookworm", ecosystem: "Debian:12" };

function run(view: MemoryView, os: OsInfo = DEBIAN_12): { packages: PackageCandidate[]; warnings: string[] } {
  const warnings: string[] = [];
  return { packages: cataloger.catalog(view, { os, warnings }), warnings };
}

function sh(script: string, ...args: string[]): string {
  return execFileSync("sh", ["-c", script, "sh", ...args], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
}

/**
 * Installed packages of a status file as "name\tversion" lines, by awk paragraph mode: an
 * independent reading of the same rules (Package and Version present; Status absent, or a wanted
 * state whose files are on disk).
 */
function awkInstalled(file: string): string[] {
  const script = String.raw`awk 'BEGIN { RS = ""; FS = "\n" }
    { pkg = ""; ver = ""; st = "-";
      for (i = 1; i <= NF; i++) {
        if ($i ~ /^Package:/) { pkg = $i; sub(/^Package:[ \t]*/, "", pkg) }
        else if ($i ~ /^Version:/) { ver = $i; sub(/^Version:[ \t]*/, "", ver) }
        else if ($i ~ /^Status:/) { st = $i; sub(/^Status:[ \t]*/, "", st) }
      }
      ok = (st == "-") || (st !~ /^(deinstall|purge) / && st ~ / (installed|triggers-pending|triggers-awaited|half-configured|unpacked)$/);
      if (pkg != "" && ver != "" && ok) print pkg "\t" ver }' "$1"`;
  return sh(script, file).split("\n").filter(Boolean).sort();
}

const nameVersions = (packages: PackageCandidate[]) => packages.map((pkg) => `${pkg.name}\t${pkg.version}`).sort();

describeWithShared("dpkg cataloger on the Debian 12 minbase image (dpkg-query ground truth)", () => {
  let root = "";
  let view: MemoryView;
  let packages: PackageCandidate[];
  let warnings: string[];
  let os: OsInfo;

  beforeAll(() => {
    // The image reader is not ours to use here: pull the files out of the OCI archive with tar.
    root = mkdtempSync(path.join(tmpdir(), "stowaway-dpkg-"));
    const archive = sharedPath("images/debian/bookworm-minbase.oci-archive.tar");
    const blob = (digest: string) => `blobs/${digest.replace(":", "/")}`;
    const index = JSON.parse(sh('tar -xOf "$1" index.json', archive)) as { manifests: Array<{ digest: string }> };
    const manifest = JSON.parse(sh('tar -xOf "$1" "$2"', archive, blob(index.manifests[0]!.digest))) as {
      layers: Array<{ digest: string }>;
    };
    for (const layer of manifest.layers) {
      sh(
        'tar -xOf "$1" "$2" | tar -xzf - -C "$3" var/lib/dpkg etc/os-release usr/lib/os-release etc/debian_version',
        archive,
        blob(layer.digest),
        root,
      );
    }
    view = viewFromDir(root);
    const osWarnings: string[] = [];
    os = createOsDetector().detect(view, osWarnings);
    expect(osWarnings).toEqual([]);
    warnings = [];
    packages = cataloger.catalog(view, { os, warnings });
  });

  afterAll(() => {
    if (root) rmSync(root, { recursive: true, force: true });
  });

  const groundTruth = () => {
    const [header, ...rows] = readFileSync(sharedPath("images/debian/bookworm-minbase.dpkg-query.tsv"), "utf8")
      .split("\n")
      .filter(Boolean);
    const columns = header!.split("\t");
    return rows.map(
      (row) => Object.fromEntries(row.split("\t").map((value, i) => [columns[i]!, value])) as Record<string, string>,
    );
  };

  it("detects the release from the image's own files", () => {
    const versionId = sh(
      `sed -n 's/^VERSION_ID="\\{0,1\\}\\([^"]*\\)"\\{0,1\\}$/\\1/p' "$1"`,
      path.join(root, "usr/lib/os-release"),
    ).trim();
    const pointRelease = readFileSync(path.join(root, "etc/debian_version"), "utf8").split("\n")[0]!.trim();
    expect(os).toMatchObject({
      family: "debian",
      version: pointRelease,
      codename: "bookworm",
      ecosystem: `Debian:${versionId}`,
    });
  });

  it("finds exactly the packages dpkg-query lists, with versions, architectures and sources", () => {
    const truth = groundTruth();
    expect(truth.every((row) => row.status!.trim() === "ii")).toBe(true);
    const expected = truth
      .map((row) => [row.package, row.version, row.architecture, row.source_package, row.source_version].join(" "))
      .sort();
    const actual = packages
      .map((pkg) => [pkg.name, pkg.version, pkg.arch, pkg.source?.name, pkg.source?.version].join(" "))
      .sort();
    expect(actual).toEqual(expected);
    expect(warnings).toEqual([]);
  });

  it("keys every package by the detected release and builds parseable purls", () => {
    const truth = new Map(groundTruth().map((row) => [row.package!, row]));
    for (const pkg of packages) {
      const row = truth.get(pkg.name)!;
      expect(pkg).toMatchObject({ type: "deb", ecosystem: os.ecosystem, locations: ["var/lib/dpkg/status"] });
      const purl = PackageURL.fromString(pkg.purl);
      expect([purl.type, purl.namespace, purl.name, purl.version]).toEqual(["deb", "debian", row.package, row.version]);
      const upstream =
        row.source_package === row.package && row.source_version === row.version
          ? undefined
          : row.source_version === row.version
            ? row.source_package
            : `${row.source_package}@${row.source_version}`;
      expect(purl.qualifiers).toEqual({
        arch: row.architecture,
        distro: "debian-12",
        ...(upstream ? { upstream } : {}),
      });
    }
  });

  it("owns the regular files of each package: every md5sums path, no directories", () => {
    const info = path.join(root, "var/lib/dpkg/info");
    const infoFiles = new Set(readdirSync(info));
    for (const pkg of packages) {
      const base = [`${pkg.name}:${pkg.arch}`, pkg.name].find((name) => infoFiles.has(`${name}.list`))!;
      expect(base, pkg.name).toBeDefined();
      const owned = new Set(pkg.ownedFiles);
      const listed = new Set(
        sh(`sed 's#^/##' "$1"`, path.join(info, `${base}.list`))
          .split("\n")
          .filter(Boolean),
      );
      for (const file of owned) expect(listed.has(file), `${pkg.name} ${file}`).toBe(true);
      if (infoFiles.has(`${base}.md5sums`)) {
        for (const file of sh(`awk '{ print $2 }' "$1"`, path.join(info, `${base}.md5sums`))
          .split("\n")
          .filter(Boolean)) {
          expect(owned.has(file), `${pkg.name} ${file}`).toBe(true);
        }
      }
      for (const dir of ["usr", "etc", "usr/lib", "usr/share/doc", "."])
        expect(owned.has(dir), `${pkg.name} ${dir}`).toBe(false);
    }
    // Paths are dpkg's own: on merged-/usr images /lib is a symlink to usr/lib, and the database still says /lib.
    const libc = packages.find((pkg) => pkg.name === "libc6")!;
    expect(libc.ownedFiles).toContain("lib/x86_64-linux-gnu/libc.so.6");
  });

  it("keeps maintainer, installed size and status in metadata", () => {
    const bash = packages.find((pkg) => pkg.name === "bash")!;
    const stanza = sh(`awk 'BEGIN { RS = "" } /^Package: bash\\n/' "$1"`, path.join(root, "var/lib/dpkg/status"));
    const field = (name: string) => new RegExp(`^${name}: (.*)$`, "m").exec(stanza)![1];
    expect(bash.metadata).toEqual({
      maintainer: field("Maintainer"),
      installedSize: Number(field("Installed-Size")),
      status: "install ok installed",
    });
  });
});

describeWithShared("dpkg cataloger on trivy and syft fixtures", () => {
  const trivy = (name: string) => sharedPath(`fixtures/os-packages/dpkg/trivy/${name}.extracted`);

  it.each(["valid", "corrupsed", "digest", "md5sums", "only-apt", "third-party"])(
    "trivy %s: the installed stanzas, no more",
    (name) => {
      const { packages } = run(viewFromDir(trivy(name)));
      expect(nameVersions(packages)).toEqual(awkInstalled(`${trivy(name)}/var/lib/dpkg/status`));
    },
  );

  it("skips the config-files-only package of trivy valid (P5)", () => {
    const status = `${trivy("valid")}/var/lib/dpkg/status`;
    const removed = sh(
      `awk 'BEGIN { RS = ""; FS = "\\n" } /\\nStatus: deinstall/ { sub(/^Package: /, "", $1); print $1 }' "$1"`,
      status,
    ).trim();
    expect(removed).not.toBe("");
    const { packages } = run(viewFromDir(trivy("valid")));
    expect(packages.map((pkg) => pkg.name)).not.toContain(removed);
    expect(packages).toHaveLength(Number(sh(`grep -c '^Status: install ok installed' "$1"`, status).trim()));
  });

  it("flags third-party packages, keeps them out of the distro ecosystem and leaves their files unowned", () => {
    const { packages } = run(viewFromDir(trivy("third-party")));
    const docker = packages.find((pkg) => pkg.name === "docker-ce")!;
    const apt = packages.find((pkg) => pkg.name === "apt")!;
    expect(docker.metadata?.thirdParty).toBe("docker");
    expect(docker.ecosystem).toBe("");
    expect(docker.ownedFiles).toBeUndefined();
    expect(apt.metadata?.thirdParty).toBeUndefined();
    expect(apt.ecosystem).toBe("Debian:12");
  });

  it("takes owned files from info/<pkg>.md5sums when there is no .list", () => {
    const root = trivy("md5sums");
    const { packages } = run(viewFromDir(root));
    const expected = sh(`awk '{ print $2 }' "$1"`, `${root}/var/lib/dpkg/info/tar.md5sums`).split("\n").filter(Boolean);
    expect(packages.find((pkg) => pkg.name === "tar")?.ownedFiles).toEqual(expected);
  });

  it("reads a distroless status.d entry, its md5sums beside it, and ignores maintainer scripts", () => {
    const root = sharedPath("fixtures/syft/debian/testdata/image-distroless-deb");
    const entry = `${root}/var/lib/dpkg/status.d/libsqlite3-0`;
    const { packages, warnings } = run(viewFromDir(root));
    expect(nameVersions(packages)).toEqual(awkInstalled(entry));
    expect(packages[0]!.locations).toEqual(["var/lib/dpkg/status.d/libsqlite3-0"]);
    const md5 = sh(`awk '{ print $2 }' "$1"`, `${entry}.md5sums`).split("\n").filter(Boolean);
    expect(packages[0]!.ownedFiles).toEqual(md5);
    expect(warnings).toEqual([]);
  });

  it("reads every syft status.d sample, whatever its name, with the same stanza rules", () => {
    const dir = sharedPath("fixtures/syft/debian/testdata/var/lib/dpkg/status.d");
    const { packages } = run(viewFromDir(sharedPath("fixtures/syft/debian/testdata/var"), "var"));
    const expected = readdirSync(dir).flatMap((file) => awkInstalled(`${dir}/${file}`));
    // A package listed in two status.d files is still one package; none of these samples repeats one across files with another arch.
    expect(nameVersions(packages)).toEqual([...new Set(expected)].sort());
    expect(packages.map((pkg) => pkg.name)).not.toContain("linux-image-6.8.0-1029-aws");
  });

  it("reads syft's image-dpkg status with info md5sums", () => {
    const root = sharedPath("fixtures/syft/debian/testdata/image-dpkg");
    const { packages } = run(viewFromDir(root));
    const pam = packages.find((pkg) => pkg.name === "libpam-runtime")!;
    expect(pam.source).toEqual({ name: "pam", version: pam.version });
    const md5 = sh(`awk '{ print $2 }' "$1"`, `${root}/var/lib/dpkg/info/libpam-runtime.md5sums`)
      .split("\n")
      .filter(Boolean);
    expect(pam.ownedFiles).toEqual(md5);
  });

  it("uses the Ubuntu namespace and distro for Ubuntu images", () => {
    const { packages } = run(viewFromDir(trivy("corrupsed")), {
      family: "ubuntu",
      version: "14.04",
      ecosystem: "Ubuntu:14.04:LTS",
    });
    const libgcc = packages.find((pkg) => pkg.name === "libgcc1")!;
    expect(libgcc.purl).toBe(
      "pkg:deb/ubuntu/libgcc1@1:5.1.1-12ubuntu1?arch=amd64&distro=ubuntu-14.04&upstream=gcc-5%405.1.1-12ubuntu1",
    );
    expect(libgcc.ecosystem).toBe("Ubuntu:14.04:LTS");
  });
});

describe("dpkg cataloger edge cases", () => {
  const stanza = (name: string, extra = "") =>
    `Package: ${name}\nStatus: install ok installed\nVersion: 1.0\nArchitecture: amd64\n${extra}`;

  it("leaves the ecosystem empty and the namespace off when the OS is unknown (OSV-Scanner #1950)", () => {
    const { packages } = run(new MemoryView({ "var/lib/dpkg/status": stanza("a") }), { family: "unknown" });
    expect(packages[0]).toMatchObject({ ecosystem: "", purl: "pkg:deb/a@1.0?arch=amd64" });
  });

  it("keys testing images by codename in the distro qualifier", () => {
    const os: OsInfo = { family: "debian", version: "trixie/sid", codename: "trixie", ecosystem: "Debian:trixie" };
    const { packages } = run(new MemoryView({ "var/lib/dpkg/status": stanza("a") }), os);
    expect(packages[0]!.purl).toBe("pkg:deb/debian/a@1.0?arch=amd64&distro=debian-trixie");
  });

  it("prefers <pkg>:<arch>.list for Multi-Arch: same packages", () => {
    const view = new MemoryView({
      "var/lib/dpkg/status": stanza("libx", "Multi-Arch: same\n"),
      "var/lib/dpkg/info/libx:amd64.list": "/usr\n/usr/lib\n/usr/lib/libx.so.1\n",
      "var/lib/dpkg/info/libx.md5sums": "00000000000000000000000000000000  usr/lib/other\n",
    });
    expect(run(view).packages[0]!.ownedFiles).toEqual(["usr/lib/libx.so.1"]);
  });

  it("counts a package present in status and status.d once", () => {
    const view = new MemoryView({ "var/lib/dpkg/status": stanza("a"), "var/lib/dpkg/status.d/a": stanza("a") });
    const { packages } = run(view);
    expect(packages).toHaveLength(1);
    expect(packages[0]!.locations).toEqual(["var/lib/dpkg/status", "var/lib/dpkg/status.d/a"]);
  });

  it("warns about damaged lines and never throws on junk", () => {
    const junk = Buffer.from(Array.from({ length: 2048 }, (_, i) => (i * 97 + 13) % 256));
    const view = new MemoryView({
      "var/lib/dpkg/status": `${stanza("ok")}\nthis line is broken\n`,
      "var/lib/dpkg/status.d/junk": junk,
      "var/lib/dpkg/info/ok.list": junk,
    });
    const { packages, warnings } = run(view);
    expect(packages.map((pkg) => pkg.name)).toEqual(["ok"]);
    expect(warnings[0]).toMatch(/^dpkg: var\/lib\/dpkg\/status: line 6: /);
  });

  it("wants the databases and owned-file lists, not maintainer scripts", () => {
    const wanted = [
      "var/lib/dpkg/status",
      "var/lib/dpkg/status.d/libc6",
      "var/lib/dpkg/status.d/libbz2-1.0",
      "var/lib/dpkg/status.d/base-files_12.4.abc123",
      "var/lib/dpkg/status.d/libc6.md5sums",
      "var/lib/dpkg/info/libc6:amd64.list",
      "var/lib/dpkg/info/tar.md5sums",
    ];
    const unwanted = [
      "var/lib/dpkg/status-old",
      "var/lib/dpkg/status.d/libc6.preinst",
      "var/lib/dpkg/status.d/sub/x",
      "var/lib/dpkg/info/tar.postinst",
      "var/lib/dpkg/info/tar.conffiles",
      "srv/var/lib/dpkg/status",
      "var/lib/dpkg/available",
    ];
    for (const p of wanted) expect(cataloger.wants(p, 100), p).toBe(true);
    for (const p of unwanted) expect(cataloger.wants(p, 100), p).toBe(false);
    // A status file over the bound is still wanted by name, so the walker reports it instead of dropping it.
    expect(cataloger.wants("var/lib/dpkg/status", 1024 * 1024 * 1024)).toBe(true);
    expect(withinBound(cataloger, "var/lib/dpkg/status", 1024 * 1024 * 1024)).toBe(false);
    expect(withinBound(cataloger, "var/lib/dpkg/status", 100 * 1024 * 1024)).toBe(true);
  });
});
