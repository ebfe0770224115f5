import { execFileSync } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { createOsDetector, defaultOsDetector, type OsInfo } from "../../src/catalog/index.js";
import { MemoryView, viewFromDir } from "../helpers/memory-view.js";
import { describeWithShared, sharedPath } from "../helpers/shared.js";

const detector = createOsDetector();

function detect(view: MemoryView): { os: OsInfo; warnings: string[] } {
  const warnings: string[] = [];
  return { os: detector.detect(view, warnings), warnings };
}

/** A field of an os-release file read with grep/sed, independently of the detector's parser. */
function shellField(file: string, key: string): string | undefined {
  const out = execFileSync(
    "sh",
    ["-c", `grep -E '^${key}=' "$1" | head -n1 | cut -d= -f2- | tr -d "\\"'"`, "sh", file],
    {
      encoding: "utf8",
    },
  ).trim();
  return out || undefined;
}

describeWithShared("OS detection on real os-release files", () => {
  const releaseDir = sharedPath("fixtures/os-release/trivy/release");
  const files = readdirSync(releaseDir).sort();

  it("has the fixture set this suite expects", () => {
    expect(files.length).toBeGreaterThanOrEqual(25);
  });

  it.each(files)("%s: family and version come from the file's own ID and VERSION_ID", (name) => {
    const file = `${releaseDir}/${name}`;
    const id = shellField(file, "ID");
    const versionId = shellField(file, "VERSION_ID");
    const { os } = detect(new MemoryView({ "etc/os-release": readFileSync(file) }));
    // openSUSE Leap 42.x used the pre-Leap ID, which the detector maps to the Leap family on purpose.
    const family = id === undefined ? "unknown" : id === "opensuse" ? "opensuse-leap" : id;
    expect(os.family).toBe(family);
    expect(os.version).toBe(id === undefined ? undefined : versionId);
  });

  const expectedEcosystems: Array<[string, string | undefined]> = [
    ["alma", "AlmaLinux:9"],
    ["alpine", "Alpine:v3.15"],
    ["azurelinux-3.0", "Azure Linux:3"],
    ["opensuseleap-15.2.1", "openSUSE:Leap 15.2.1"],
    ["opensuseleap-42.3", "openSUSE:Leap 42.3"],
    ["opensusetumbleweed", "openSUSE:Tumbleweed"],
    ["photon", "Photon OS:4.0"],
    ["rocky", "Rocky Linux:9"],
    ["sles", "SUSE:Linux Enterprise Server 15 SP3"],
    ["slemicro", "SUSE:Linux Enterprise Micro 5.3"],
    ["slemicro6.0", "SUSE:Linux Micro 6.0"],
    ["echo", "Echo"],
    ["minimos", "MinimOS"],
    // Red Hat is keyed by product-stream CPE; without content manifests R9's defaults for RHEL 9 are
    // BaseOS (cpe:/o:…:9::baseos) and AppStream (cpe:/a:…:9::appstream), and the first CPE names it.
    ["rhel", "Red Hat:enterprise_linux:9::appstream"],
    // OSV has no ecosystem for these.
    ["centos", undefined],
    ["fedora", undefined],
    ["oracle", undefined],
    ["mariner-2.0", undefined],
    ["bottlerocket", undefined],
  ];
  it.each(expectedEcosystems)("%s -> OSV ecosystem %s", (name, ecosystem) => {
    const { os } = detect(new MemoryView({ "etc/os-release": readFileSync(`${releaseDir}/${name}`) }));
    expect(os.ecosystem).toBe(ecosystem);
  });

  it("prefers etc/os-release and falls back to usr/lib/os-release", () => {
    const centos = viewFromDir(sharedPath("fixtures/syft/linux/testdata/os/centos"));
    expect(detect(centos).os).toMatchObject({ family: "centos", version: "8" });
    const both = new MemoryView({
      "etc/os-release": readFileSync(`${releaseDir}/rocky`),
      "usr/lib/os-release": readFileSync(`${releaseDir}/alma`),
    });
    expect(detect(both).os.family).toBe("rocky");
  });

  it("follows an os-release symlink, as Debian ships it", () => {
    const view = new MemoryView(
      { "usr/lib/os-release": readFileSync(sharedPath("fixtures/syft/debian/testdata/image-dpkg/etc/os-release")) },
      { "etc/os-release": "../usr/lib/os-release" },
    );
    expect(detect(view).os).toEqual({
      family: "debian",
      version: "12",
      codename: "bookworm",
      ecosystem: "Debian:12",
      prettyName: "Debian GNU/Linux 12 (bookworm)",
      eol: "2028-06-10",
    });
  });
});

describeWithShared("Debian release keying", () => {
  it("takes the point release from debian_version and keys by its major", () => {
    const file = sharedPath("fixtures/os-release/trivy/debian/debian_9/etc/debian_version");
    const first = readFileSync(file, "utf8").split("\n")[0]!.trim();
    const { os } = detect(new MemoryView({ "etc/debian_version": readFileSync(file) }));
    expect(os).toMatchObject({
      family: "debian",
      version: first,
      codename: "stretch",
      ecosystem: `Debian:${first.split(".")[0]}`,
    });
  });

  it("maps x/sid to its codename bucket, never to a number (P10)", () => {
    const { os } = detect(viewFromDir(sharedPath("fixtures/os-release/trivy/debian/debian_sid")));
    expect(os).toMatchObject({
      family: "debian",
      version: "buster/sid",
      codename: "buster",
      ecosystem: "Debian:buster",
    });
  });

  it("reads x/sid from PRETTY_NAME when os-release is all there is", () => {
    const { os } = detect(viewFromDir(sharedPath("fixtures/snyk-docker-plugin/os/debian_unstable/fs")));
    expect(os).toMatchObject({ family: "debian", version: "buster/sid", ecosystem: "Debian:buster" });
  });

  it("keys distroless Debian (no VERSION_ID) by debian_version", () => {
    const { os } = detect(viewFromDir(sharedPath("fixtures/syft/linux/testdata/os/debian/from-debian_version")));
    expect(os).toMatchObject({
      family: "debian",
      version: "10.8",
      codename: "buster",
      ecosystem: "Debian:10",
      prettyName: "Distroless",
    });
  });

  it("keeps the point release of a trixie image", () => {
    const { os } = detect(viewFromDir(sharedPath("fixtures/syft/linux/testdata/os/debian/with-point-release")));
    expect(os).toMatchObject({ version: "13.5", codename: "trixie", ecosystem: "Debian:13" });
  });

  it("handles pre-os-release Debian and a corrupt debian_version", () => {
    expect(detect(viewFromDir(sharedPath("fixtures/snyk-docker-plugin/os/debian_6/fs"))).os).toMatchObject({
      version: "6.0.10",
      codename: "squeeze",
      ecosystem: "Debian:6",
    });
    const corrupt = detect(viewFromDir(sharedPath("fixtures/snyk-docker-plugin/os/debian_version_corrupt/fs")));
    expect(corrupt.os).toEqual({ family: "debian", ecosystem: "Debian" });
    expect(corrupt.warnings.join("\n")).toMatch(/debian_version: unrecognised Debian release/);
  });

  it.each([
    ["debian_7", "Debian:7", "wheezy"],
    ["debian_8", "Debian:8", "jessie"],
    ["debian_9", "Debian:9", "stretch"],
  ])("snyk %s -> %s", (dir, ecosystem, codename) => {
    const { os } = detect(viewFromDir(sharedPath(`fixtures/snyk-docker-plugin/os/${dir}/fs`)));
    expect(os).toMatchObject({ family: "debian", ecosystem, codename });
  });
});

describeWithShared("Ubuntu", () => {
  it.each([
    ["ubuntu_12_04", "12.04", "Ubuntu:12.04:LTS", "precise"],
    ["ubuntu_14_04", "14.04", "Ubuntu:14.04:LTS", "trusty"],
    ["ubuntu_16_04", "16.04", "Ubuntu:16.04:LTS", "xenial"],
    ["ubuntu_18_04", "18.04", "Ubuntu:18.04:LTS", "bionic"],
  ])("snyk %s", (dir, version, ecosystem, codename) => {
    const { os } = detect(viewFromDir(sharedPath(`fixtures/snyk-docker-plugin/os/${dir}/fs`)));
    expect(os).toMatchObject({ family: "ubuntu", version, ecosystem, codename });
  });

  it("does not add :LTS to interim releases", () => {
    const view = new MemoryView({
      "etc/os-release": 'ID=ubuntu\nVERSION_ID="23.10"\nVERSION="23.10 (Mantic Minotaur)"\n',
    });
    expect(detect(view).os).toMatchObject({ version: "23.10", codename: "mantic", ecosystem: "Ubuntu:23.10" });
  });

  it("falls back to lsb-release, ignoring the debian_version Ubuntu also ships", () => {
    const { os } = detect(viewFromDir(sharedPath("fixtures/snyk-docker-plugin/os/ubuntu_10_04/fs")));
    expect(os).toMatchObject({ family: "ubuntu", version: "10.04", codename: "lucid", ecosystem: "Ubuntu:10.04:LTS" });
    const lsb = new MemoryView({
      "etc/lsb-release": readFileSync(sharedPath("fixtures/os-release/trivy/ubuntu/lsb-release")),
    });
    expect(detect(lsb).os).toMatchObject({
      family: "ubuntu",
      version: "18.04",
      codename: "bionic",
      ecosystem: "Ubuntu:18.04:LTS",
    });
  });

  it("recovers the release from the codename of a partial lsb-release", () => {
    const { os } = detect(viewFromDir(sharedPath("fixtures/snyk-docker-plugin/os/lsb_release_corrupt/fs")));
    expect(os).toMatchObject({ family: "ubuntu", version: "10.04", ecosystem: "Ubuntu:10.04:LTS" });
  });

  it("uses the Pro ecosystem only when an ESM service is enabled (R4)", () => {
    const base = readFileSync(sharedPath("fixtures/snyk-docker-plugin/os/ubuntu_16_04/fs/etc/os-release"));
    const status = (name: string) => readFileSync(sharedPath(`fixtures/os-release/trivy/ubuntu/${name}`));
    const enabled = new MemoryView({
      "etc/os-release": base,
      "var/lib/ubuntu-advantage/status.json": status("esm_enabled_status.json"),
    });
    const disabled = new MemoryView({
      "etc/os-release": base,
      "var/lib/ubuntu-advantage/status.json": status("esm_disabled_status.json"),
    });
    const broken = new MemoryView({
      "etc/os-release": base,
      "var/lib/ubuntu-advantage/status.json": status("invalid"),
    });
    expect(detect(enabled).os.ecosystem).toBe("Ubuntu:Pro:16.04:LTS");
    expect(detect(disabled).os.ecosystem).toBe("Ubuntu:16.04:LTS");
    const result = detect(broken);
    expect(result.os.ecosystem).toBe("Ubuntu:16.04:LTS");
    expect(result.warnings).toHaveLength(1);
  });
});

describeWithShared("Alpine", () => {
  const osRelease = () => readFileSync(sharedPath("fixtures/snyk-docker-plugin/os/alpine_3_7_0/fs/etc/os-release"));

  it("reads alpine-release alone", () => {
    const { os } = detect(viewFromDir(sharedPath("fixtures/snyk-docker-plugin/os/alpine_2_6_6/fs")));
    expect(os).toMatchObject({ family: "alpine", version: "2.6.6", ecosystem: "Alpine:v2.6" });
  });

  it("lets the repository release override the minor (R5, P6)", () => {
    const view = new MemoryView({
      "etc/os-release": osRelease(),
      "etc/alpine-release": "3.7.0\n",
      "etc/apk/repositories":
        "https://dl-cdn.alpinelinux.org/alpine/v3.8/main\nhttps://dl-cdn.alpinelinux.org/alpine/v3.8/community\n",
    });
    const { os, warnings } = detect(view);
    expect(os).toMatchObject({ version: "3.7.0", ecosystem: "Alpine:v3.8" });
    expect(warnings.join("\n")).toMatch(/v3\.8 but alpine-release says 3\.7\.0/);
  });

  it("treats edge as its own release without an OSV branch", () => {
    const view = new MemoryView({
      "etc/alpine-release": "3.21_alpha20240807\n",
      "etc/apk/repositories": "https://dl-cdn.alpinelinux.org/alpine/edge/main\n",
    });
    expect(detect(view).os).toEqual({ family: "alpine", version: "edge" });
  });

  it("ignores tagged repositories and warns on mixed untagged ones", () => {
    const tagged = new MemoryView({
      "etc/alpine-release": "3.19.1\n",
      "etc/apk/repositories":
        "# comment\nhttps://dl-cdn.alpinelinux.org/alpine/v3.19/main\n@edge https://dl-cdn.alpinelinux.org/alpine/edge/testing\n",
    });
    expect(detect(tagged)).toEqual({
      os: { family: "alpine", version: "3.19.1", ecosystem: "Alpine:v3.19", eol: "2025-11-01" },
      warnings: [],
    });
    const mixed = detect(
      new MemoryView({
        "etc/alpine-release": "3.19.1\n",
        "etc/apk/repositories": "https://x/alpine/v3.19/main\r\nhttps://x/alpine/edge/community\r\n",
      }),
    );
    expect(mixed.os.ecosystem).toBe("Alpine:v3.19");
    expect(mixed.warnings.join("\n")).toMatch(/mixed Alpine repositories \(v3\.19, edge\)/);
  });

  it("warns on a corrupt alpine-release and keeps the family", () => {
    const { os, warnings } = detect(
      viewFromDir(sharedPath("fixtures/snyk-docker-plugin/os/alpine_release_corrupt/fs")),
    );
    expect(os).toEqual({ family: "alpine" });
    expect(warnings).toHaveLength(1);
  });
});

describeWithShared("RPM-family release files and other distros", () => {
  it.each([
    ["alma/almalinux-release", "etc/almalinux-release", "almalinux", "8.4", "AlmaLinux:8"],
    ["centos/centos-release", "etc/centos-release", "centos", "7.6.1810", undefined],
    ["fedora_29/fedora-release", "etc/fedora-release", "fedora", "29", undefined],
    ["oracle_7/oracle-release", "etc/oracle-release", "ol", "7.6", undefined],
    ["redhat_6/redhat-release", "etc/redhat-release", "rhel", "6.2", undefined],
    ["rocky/rocky-release", "etc/rocky-release", "rocky", "8.4", "Rocky Linux:8"],
  ])("trivy %s", (fixture, path, family, version, ecosystem) => {
    const { os } = detect(
      new MemoryView({ [path]: readFileSync(sharedPath(`fixtures/os-release/trivy/redhatbase/${fixture}`)) }),
    );
    expect(os.family).toBe(family);
    expect(os.version).toBe(version);
    expect(os.ecosystem).toBe(ecosystem);
  });

  it("reads Oracle's own file before the redhat-release it also carries", () => {
    const { os } = detect(viewFromDir(sharedPath("fixtures/snyk-docker-plugin/os/oraclelinux_5_11/fs")));
    expect(os).toMatchObject({ family: "ol", version: "5.11" });
  });

  it.each([
    ["wolfi", "wolfi", "Wolfi"],
    ["amazon", "amzn", undefined],
    ["photon", "photon", "Photon OS:2.0"],
    ["opensuse-leap", "opensuse-leap", "openSUSE:Leap 15.2"],
    ["arch", "arch", undefined],
  ])("syft %s", (dir, family, ecosystem) => {
    const { os } = detect(viewFromDir(sharedPath(`fixtures/syft/linux/testdata/os/${dir}`)));
    expect(os.family).toBe(family);
    expect(os.ecosystem).toBe(ecosystem);
  });

  it("recognises Chainguard and Azure Linux ids", () => {
    expect(detect(new MemoryView({ "etc/os-release": "ID=chainguard\nNAME=Chainguard\n" })).os.ecosystem).toBe(
      "Chainguard",
    );
    expect(detect(new MemoryView({ "etc/os-release": 'ID=azurelinux\nVERSION_ID="2.0"\n' })).os.ecosystem).toBe(
      "Azure Linux:2",
    );
  });
});

describe("OS detection robustness", () => {
  it("says unknown for an empty filesystem or release files without an id", () => {
    expect(detect(new MemoryView()).os).toEqual({ family: "unknown" });
    expect(detect(new MemoryView({ "etc/os-release": "\n\n" })).os).toEqual({ family: "unknown" });
  });

  it("never throws on binary junk", () => {
    const junk = Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 37) % 256));
    const view = new MemoryView({
      "etc/os-release": junk,
      "etc/debian_version": junk,
      "etc/alpine-release": junk,
      "etc/apk/repositories": junk,
      "etc/lsb-release": junk,
      "var/lib/ubuntu-advantage/status.json": junk,
      "etc/redhat-release": junk,
    });
    expect(() => detect(view)).not.toThrow();
  });

  it("parses quoting and comments the way os-release(5) describes", () => {
    const view = new MemoryView({
      "etc/os-release": '# c\nID=\'debian\'\nVERSION_ID="12" \nPRETTY_NAME="A \\"quoted\\" name"\r\n',
    });
    expect(detect(view).os).toMatchObject({ family: "debian", version: "12", prettyName: 'A "quoted" name' });
  });

  it("wants exactly the release files", () => {
    const os = defaultOsDetector();
    for (const path of [
      "etc/os-release",
      "usr/lib/os-release",
      "etc/debian_version",
      "etc/alpine-release",
      "etc/apk/repositories",
      "etc/lsb-release",
    ]) {
      expect(os.wants(path)).toBe(true);
    }
    for (const path of ["/etc/os-release", "etc/os-release.d/x", "srv/etc/os-release", "etc/issue"])
      expect(os.wants(path)).toBe(false);
  });
});
