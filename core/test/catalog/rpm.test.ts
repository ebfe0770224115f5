import { execFileSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { PackageURL } from "packageurl-js";
import { afterAll, beforeAll, expect, it } from "vitest";
import { loadSqlite } from "../../src/catalog/rpm/sqlite.js";

// The scan loads the SQLite engine through the cataloger's prepare(); direct calls do it here.
beforeAll(loadSqlite);
import { createRpmCataloger, toRpmEntry, type OsInfo, type PackageCandidate } from "../../src/catalog/index.js";
import { MemoryView } from "../helpers/memory-view.js";
import { describeWithShared, sharedPath } from "../helpers/shared.js";

/*
 * Ground truth comes from rpm itself. Debian's rpm (apt-get install rpm) reads the SQLite and
 * (read-only) BerkeleyDB backends but is built without NDB; for NDB the expectations come from
 * python3-rpm decoding blobs that a separate scan for the "BlbS" blob magic cuts out of the file,
 * so neither the slot pages nor our header decoder are involved.
 */

const cataloger = createRpmCataloger();
const FIELDS = ["name", "epoch", "version", "release", "arch", "sourcerpm", "vendor", "license", "modularitylabel"];
const QUERY_FORMAT = `${FIELDS.map((field) => `%{${field.toUpperCase()}}`).join("\\t")}\\n`;
const FILES_FORMAT = "[%{=NAME}\\t%{FILENAMES}\\t%{FILEMODES:perms}\\n]";
const PYTHON = "/usr/bin/python3";

type Row = Record<string, string | undefined>;

let scratch = "";
beforeAll(() => {
  scratch = mkdtempSync(path.join(tmpdir(), "stowaway-rpm-"));
});
afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

function requireTool(command: string, args: string[], install: string): void {
  try {
    execFileSync(command, args, { stdio: "ignore" });
  } catch {
    throw new Error(`${command} is needed for the rpm ground truth: ${install}`);
  }
}

/** rpm prints "(none)" for an absent tag and nothing for an empty one; both mean "not recorded". */
function toRow(line: string): Row {
  const values = line.split("\t");
  return Object.fromEntries(
    FIELDS.map((field, i) => [field, values[i] === "(none)" || values[i] === "" ? undefined : values[i]]),
  );
}

function rpmQuery(dbFile: string, fileName: string, backend: string, format: string): string[] {
  requireTool("rpm", ["--version"], "apt-get install -y rpm");
  const dir = mkdtempSync(path.join(scratch, "db-"));
  copyFileSync(dbFile, path.join(dir, fileName));
  const out = execFileSync("rpm", ["--dbpath", dir, "--define", `_db_backend ${backend}`, "-qa", "--qf", format], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "ignore"],
    maxBuffer: 64 * 1024 * 1024,
  });
  return out.split("\n").filter(Boolean);
}

const NDB_SCRIPT = String.raw`
import rpm, struct, sys
data = open(sys.argv[1], 'rb').read()
mode = sys.argv[2]
at = data.find(b'BlbS')
while at >= 0:
    if at % 16 == 0:
        length = struct.unpack('<I', data[at + 12:at + 16])[0]
        h = rpm.hdr(data[at + 16:at + 16 + length])
        name = h['name']
        if name != 'gpg-pubkey':
            if mode == 'packages':
                values = [h[t] for t in ${JSON.stringify(FIELDS)}]
                print('\t'.join('(none)' if v is None or v == '' else str(v) for v in values))
            else:
                for f, m in zip(h['filenames'], h['filemodes']):
                    print('%s\t%s\t%s' % (name, f, 'd' if (m & 0o170000) == 0o040000 else '-'))
    at = data.find(b'BlbS', at + 4)
`;

function ndbQuery(dbFile: string, mode: "packages" | "files"): string[] {
  requireTool(PYTHON, ["-c", "import rpm"], "apt-get install -y python3-rpm");
  return execFileSync(PYTHON, ["-c", NDB_SCRIPT, dbFile, mode], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 })
    .split("\n")
    .filter(Boolean);
}

interface Case {
  title: string;
  fixture: string;
  /** Where the database sits in the image. */
  location: string;
  os: OsInfo;
  truth: () => Row[];
  files: () => string[];
}

/** "name\tpath" of every non-directory file, from rpm's FILENAMES/FILEMODES listing. */
function regularFiles(lines: string[]): string[] {
  return lines
    .map((line) => line.split("\t"))
    .filter(([, file, perms]) => file && file !== "(none)" && !perms!.startsWith("d"))
    .map(([name, file]) => `${name}\t${file!.replace(/^\/+/, "")}`)
    .sort();
}

const cases: Case[] = [
  {
    title: "SQLite (CBL-Mariner 2.0)",
    fixture: "fixtures/os-packages/rpm/cbl-mariner-2.0/rpmdb.sqlite",
    location: "var/lib/rpm/rpmdb.sqlite",
    os: { family: "mariner", version: "2.0" },
    truth: () => rpmQuery(sharedPath(cases[0]!.fixture), "rpmdb.sqlite", "sqlite", QUERY_FORMAT).map(toRow),
    files: () => regularFiles(rpmQuery(sharedPath(cases[0]!.fixture), "rpmdb.sqlite", "sqlite", FILES_FORMAT)),
  },
  {
    title: "BerkeleyDB (UBI 8 libuuid)",
    fixture: "fixtures/os-packages/rpm/libuuid/Packages",
    location: "var/lib/rpm/Packages",
    os: { family: "rhel", version: "8.8" },
    truth: () => rpmQuery(sharedPath(cases[1]!.fixture), "Packages", "bdb_ro", QUERY_FORMAT).map(toRow),
    files: () => regularFiles(rpmQuery(sharedPath(cases[1]!.fixture), "Packages", "bdb_ro", FILES_FORMAT)),
  },
  {
    title: "BerkeleyDB (syft's dive package, no vendor)",
    fixture: "fixtures/syft/redhat/testdata/Packages",
    location: "var/lib/rpm/Packages",
    os: { family: "centos", version: "7" },
    truth: () => rpmQuery(sharedPath(cases[2]!.fixture), "Packages", "bdb_ro", QUERY_FORMAT).map(toRow),
    files: () => regularFiles(rpmQuery(sharedPath(cases[2]!.fixture), "Packages", "bdb_ro", FILES_FORMAT)),
  },
  {
    title: "NDB (SLE 15 BCI)",
    fixture: "fixtures/os-packages/rpm/sle15-bci/Packages.db",
    location: "usr/lib/sysimage/rpm/Packages.db",
    os: { family: "sles", version: "15.3", ecosystem: "SUSE:Linux Enterprise Server 15 SP3" },
    truth: () => ndbQuery(sharedPath(cases[3]!.fixture), "packages").map(toRow),
    files: () => regularFiles(ndbQuery(sharedPath(cases[3]!.fixture), "files")),
  },
];

const expectedVersion = (row: Row): string =>
  `${row.epoch === undefined ? "" : `${row.epoch}:`}${row.version}-${row.release}`;

describeWithShared("rpm cataloger against rpm's own reading of real databases", () => {
  const found = new Map<string, { packages: PackageCandidate[]; warnings: string[] }>();
  const catalog = (c: Case) => {
    if (!found.has(c.title)) {
      const warnings: string[] = [];
      const view = new MemoryView({ [c.location]: readFileSync(sharedPath(c.fixture)) });
      found.set(c.title, { packages: cataloger.catalog(view, { os: c.os, warnings }), warnings });
    }
    return found.get(c.title)!;
  };

  it.each(cases)("$title: the same packages with epoch, version, release and arch", (c) => {
    const truth = c.truth();
    const { packages, warnings } = catalog(c);
    expect(truth.length).toBeGreaterThan(0);
    expect(warnings).toEqual([]);
    const expected = truth.map((row) => [row.name, expectedVersion(row), row.arch].join(" ")).sort();
    const actual = packages.map((pkg) => [pkg.name, pkg.version, pkg.arch].join(" ")).sort();
    expect(actual).toEqual(expected);
  });

  it.each(cases)(
    "$title: epoch absent stays absent; vendor, licence, modularity label and SRPM as rpm reads them",
    (c) => {
      const truth = new Map(c.truth().map((row) => [`${row.name}-${row.version}-${row.release}.${row.arch}`, row]));
      for (const pkg of catalog(c).packages) {
        const metadata = pkg.metadata ?? {};
        const row = truth.get(`${pkg.name}-${pkg.version.replace(/^\d+:/, "")}.${pkg.arch}`)!;
        expect(row, pkg.name).toBeDefined();
        expect(metadata.epoch, pkg.name).toBe(row.epoch === undefined ? undefined : Number(row.epoch));
        expect(metadata.release).toBe(row.release);
        expect(metadata.vendor).toBe(row.vendor);
        expect(metadata.modularityLabel).toBe(row.modularitylabel);
        expect(metadata.sourceRpm).toBe(row.sourcerpm);
        expect(pkg.licenses).toEqual(row.license === undefined ? undefined : [row.license]);
      }
    },
  );

  it.each(cases)("$title: the source package is the SRPM name, its version version-release", (c) => {
    for (const pkg of catalog(c).packages) {
      const srpm = pkg.metadata!.sourceRpm as string;
      // A package built from a same-named source shares its version and release.
      const selfBuilt = `${pkg.name}-${pkg.version.replace(/^\d+:/, "")}.src.rpm`;
      if (srpm === selfBuilt) expect(pkg.source).toEqual({ name: pkg.name, version: pkg.version.replace(/^\d+:/, "") });
      expect(`${pkg.source!.name}-${pkg.source!.version}.src.rpm`).toBe(srpm);
      expect(pkg.source!.version.split("-")).toHaveLength(2);
      expect(pkg.source!.version).not.toMatch(/:/);
      expect(pkg.metadata!.sourceEpoch).toBe(pkg.metadata!.epoch);
    }
  });

  it.each(cases)("$title: owned files are the package's non-directory files", (c) => {
    const actual = catalog(c)
      .packages.flatMap((pkg) => (pkg.ownedFiles ?? []).map((file) => `${pkg.name}\t${file}`))
      .sort();
    expect(actual).toEqual(c.files());
  });

  it.each(cases)("$title: purls carry namespace, version-release, arch, epoch, distro and upstream", (c) => {
    const namespaces: Record<string, string> = { mariner: "mariner", rhel: "redhat", centos: "centos", sles: "suse" };
    for (const pkg of catalog(c).packages) {
      const purl = PackageURL.fromString(pkg.purl);
      const epoch = pkg.metadata!.epoch as number | undefined;
      expect([purl.type, purl.namespace, purl.name, purl.version]).toEqual([
        "rpm",
        namespaces[c.os.family],
        pkg.name,
        pkg.version.replace(/^\d+:/, ""),
      ]);
      expect(purl.qualifiers).toEqual({
        arch: pkg.arch,
        distro: `${c.os.family}-${c.os.version}`,
        upstream: pkg.metadata!.sourceRpm,
        ...(epoch === undefined ? {} : { epoch: String(epoch) }),
      });
      expect(pkg.ecosystem).toBe(c.os.ecosystem ?? "");
      expect(pkg.locations).toEqual([c.location]);
    }
  });

  it("finds epochs in the Mariner database and keeps them out of the source version", () => {
    const withEpoch = cases[0]!.truth().filter((row) => row.epoch !== undefined);
    expect(withEpoch.length).toBeGreaterThan(0);
    const packages = catalog(cases[0]!).packages;
    for (const row of withEpoch) {
      const pkg = packages.find((p) => p.name === row.name)!;
      expect(pkg.version).toBe(`${row.epoch}:${row.version}-${row.release}`);
      expect(pkg.metadata).toMatchObject({ epoch: Number(row.epoch), sourceEpoch: Number(row.epoch) });
    }
  });

  it("skips the gpg-pubkey pseudo-packages rpm lists (none are invented either)", () => {
    for (const c of cases) expect(catalog(c).packages.some((pkg) => pkg.name === "gpg-pubkey")).toBe(false);
  });

  it("reads the same package from every database directory rpm uses", () => {
    const bytes = readFileSync(sharedPath(cases[1]!.fixture));
    for (const dir of ["var/lib/rpm", "usr/lib/sysimage/rpm", "usr/share/rpm"]) {
      const warnings: string[] = [];
      const packages = cataloger.catalog(new MemoryView({ [`${dir}/Packages`]: bytes }), {
        os: cases[1]!.os,
        warnings,
      });
      expect(packages.map((pkg) => pkg.name)).toEqual(["libuuid"]);
      expect(packages[0]!.locations).toEqual([`${dir}/Packages`]);
    }
    // var/lib/rpm linked to the sysimage directory is one database, read once.
    const linked = new MemoryView(
      { "usr/lib/sysimage/rpm/Packages": bytes },
      { "var/lib/rpm": "../../usr/lib/sysimage/rpm" },
    );
    const warnings: string[] = [];
    expect(cataloger.catalog(linked, { os: cases[1]!.os, warnings })).toHaveLength(1);
    expect(warnings).toEqual([]);
  });
});

describeWithShared("rpm header blobs", () => {
  it("decodes go-rpmdb's raw header blob: fields as the blob's own strings show them", () => {
    const file = sharedPath("fixtures/os-packages/rpm/blob.bin");
    // The data store's first strings are NAME, VERSION, RELEASE in tag order; `strings` reads them without our decoder.
    const [name, version, release] = execFileSync("strings", ["-n", "3", file], { encoding: "utf8" }).split("\n");
    const result = toRpmEntry(readFileSync(file));
    expect("entry" in result).toBe(true);
    if (!("entry" in result)) return;
    expect(result.entry).toMatchObject({ name, version, release });
    const text = readFileSync(file, "latin1");
    expect(text).toContain(`\0${result.entry.vendor}\0`);
    expect(text).toContain(`\0${result.entry.license}\0`);
    expect(text).toContain(`\0${result.entry.sourceRpm}\0`);
    // This binary comes from a differently named source (publicsuffix-list builds -dafsa).
    expect(result.entry.sourceRpm?.endsWith(`-${version}-${release}.src.rpm`)).toBe(true);
    expect(result.entry.sourceRpm).not.toBe(`${name}-${version}-${release}.src.rpm`);
  });
});
