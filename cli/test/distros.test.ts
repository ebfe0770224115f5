import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { expect, it } from "vitest";
import { buildImage, buildLayer, writeOciArchive, type LayerEntry } from "../../core/test/helpers/image-builder.js";
import { describeWithShared, sharedPath } from "../../core/test/helpers/shared.js";
import { cliHarness } from "./harness.js";

const { stowaway, work } = cliHarness("stowaway-distros-");

interface Listed {
  name: string;
  version: string;
  type: string;
}

async function archiveOf(name: string, entries: LayerEntry[]): Promise<string> {
  const file = path.join(work(), `${name}.oci.tar`);
  await writeOciArchive(file, { images: [{ image: buildImage({ layers: [await buildLayer(entries)] }) }] });
  return `oci-archive:${file}`;
}

function sbom(target: string): { os: { family: string; ecosystem?: string }; packages: Listed[]; warnings: string[] } {
  const run = stowaway(["sbom", target, "-f", "json", "--no-cache"]);
  expect(run.stderr).toBe("");
  expect(run.code).toBe(0);
  const result = JSON.parse(run.stdout);
  return { os: result.artifact.os, packages: result.packages, warnings: result.warnings };
}

describeWithShared("stowaway sbom gives a correct inventory of each distro family", () => {
  it("an Alpine image (real docker save, gzip-compressed archive)", () => {
    const archive = sharedPath("images/trivy/alpine-310.tar.gz");
    // Independent truth: the apk database's own P:/V: lines, read with tar and a regex.
    const manifest = JSON.parse(execFileSync("tar", ["-xzOf", archive, "manifest.json"], { encoding: "utf8" })) as {
      Layers: string[];
    }[];
    const layer = execFileSync("tar", ["-xzOf", archive, manifest[0]!.Layers[0]!], { maxBuffer: 1 << 28 });
    const installed = execFileSync("tar", ["-xOf", "-", "lib/apk/db/installed"], {
      input: layer,
      maxBuffer: 1 << 26,
    }).toString();
    const expected = [...installed.matchAll(/^P:(.+)\nV:(.+)$/gm)].map((match) => `${match[1]}@${match[2]}`).sort();
    const { os, packages, warnings } = sbom(`docker-archive:${archive}`);
    expect(os).toMatchObject({ family: "alpine", ecosystem: "Alpine:v3.10" });
    // Alpine 3.10's support ended on 2021-05-01 (alpinelinux.org/releases): users must be told the feed stopped.
    expect(warnings.join("\n")).toMatch(/end of life on 2021-05-01/);
    expect(
      packages
        .filter((pkg) => pkg.type === "apk")
        .map((pkg) => `${pkg.name}@${pkg.version}`)
        .sort(),
    ).toEqual(expected);
  });

  it("a distroless image (one dpkg stanza per status.d file, no status file)", async () => {
    const distroless = sharedPath("fixtures/syft/debian/testdata/image-distroless-deb/var/lib/dpkg/status.d");
    const statusD = sharedPath("fixtures/syft/debian/testdata/var/lib/dpkg/status.d");
    const files = [
      [path.join(distroless, "libsqlite3-0"), "libsqlite3-0"],
      [path.join(distroless, "libsqlite3-0.md5sums"), "libsqlite3-0.md5sums"],
      [path.join(statusD, "libpam-runtime"), "libpam-runtime"],
      [path.join(statusD, "single"), "single"],
    ];
    const entries: LayerEntry[] = [
      // Only /etc/debian_version, no os-release: the release must still be recognised from it.
      {
        path: "etc/debian_version",
        content: readFileSync(sharedPath("fixtures/os-release/trivy/debian/debian_9/etc/debian_version")),
      },
      ...files.map(([file, name]) => ({ path: `var/lib/dpkg/status.d/${name}`, content: readFileSync(file!) })),
    ];
    const expected = files
      .filter(([, name]) => !name!.endsWith(".md5sums"))
      .map(([file]) => {
        const text = readFileSync(file!, "utf8");
        return `${/^Package: (.+)$/m.exec(text)![1]}@${/^Version: (.+)$/m.exec(text)![1]}`;
      })
      .sort();
    const { os, packages } = sbom(await archiveOf("distroless", entries));
    expect(os).toMatchObject({ family: "debian", ecosystem: "Debian:9" });
    expect(
      packages
        .filter((pkg) => pkg.type === "deb")
        .map((pkg) => `${pkg.name}@${pkg.version}`)
        .sort(),
    ).toEqual(expected);
  });

  it("an RPM-family image (Azure Linux / CBL-Mariner 2.0, SQLite rpmdb) as rpm itself lists it", async () => {
    const db = sharedPath("fixtures/os-packages/rpm/cbl-mariner-2.0/rpmdb.sqlite");
    const dbDir = path.join(work(), "rpmdb");
    mkdirSync(dbDir, { recursive: true });
    execFileSync("cp", [db, path.join(dbDir, "rpmdb.sqlite")]);
    const expected = execFileSync(
      "rpm",
      ["--dbpath", dbDir, "--define", "_db_backend sqlite", "-qa", "--qf", "%{NAME}@%{VERSION}-%{RELEASE}\\n"],
      {
        encoding: "utf8",
      },
    )
      .split("\n")
      .filter((line) => line && !line.startsWith("gpg-pubkey@"))
      .sort();
    const target = await archiveOf("mariner", [
      { path: "etc/os-release", content: readFileSync(sharedPath("fixtures/os-release/trivy/release/mariner-2.0")) },
      { path: "var/lib/rpm/rpmdb.sqlite", content: readFileSync(db) },
    ]);
    const { os, packages } = sbom(target);
    expect(os.family).toBe("mariner");
    // Versions carry the epoch as E:V-R when there is one; rpm's %{VERSION}-%{RELEASE} does not.
    const listed = packages
      .filter((pkg) => pkg.type === "rpm")
      .map((pkg) => `${pkg.name}@${pkg.version.replace(/^\d+:/, "")}`);
    expect(listed.sort()).toEqual(expected);
  });

  it("a RHEL image with a BerkeleyDB rpm database", async () => {
    const db = sharedPath("fixtures/os-packages/rpm/libuuid/Packages");
    const target = await archiveOf("rhel", [
      { path: "etc/os-release", content: readFileSync(sharedPath("fixtures/os-release/trivy/release/rhel")) },
      { path: "var/lib/rpm/Packages", content: readFileSync(db) },
    ]);
    const { os, packages } = sbom(target);
    expect(os.family).toBe("rhel");
    expect(packages.filter((pkg) => pkg.type === "rpm").map((pkg) => pkg.name)).toEqual(["libuuid"]);
  });
});
