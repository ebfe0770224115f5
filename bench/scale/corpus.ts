/**
 * Synthetic but realistically shaped vulnerability data for the scale benchmark (bench/scale.ts):
 * OSV records of every kind the real feeds publish (DEBIAN-CVE, UBUNTU-CVE with version lists,
 * ALPINE-CVE, SUSE and Red Hat advisories listing many binary packages, GHSA/PYSEC/GO/RUSTSEC with
 * several ranges, MAL- records with exact versions) in OSV's per-ecosystem zip layout, and NVD CVE
 * API 2.0 pages (the fields of ../shared/vulns/nvd-api-2.0). Advisories per package follow a power
 * law as in the real feeds (the kernel, chromium, tensorflow carry thousands; most packages one or
 * two). Everything comes from a seeded generator, so the same scale gives the same files.
 */
import { createWriteStream, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import yazl from "yazl";

/** Deterministic PRNG (mulberry32): the corpus and the inventories are the same on every run. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Index in [0, n) biased to low indices: P(index < n·x) = x^(1/skew), a heavy head like real feeds. */
export function skewed(random: () => number, n: number, skew: number): number {
  return Math.min(n - 1, Math.floor(n * random() ** skew));
}

const pick = <T>(random: () => number, items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

/** Real names head each list so the heaviest synthetic packages are the ones that are heavy for real. */
const OS_HEAD = [
  "linux",
  "chromium",
  "firefox-esr",
  "thunderbird",
  "openjdk-17",
  "imagemagick",
  "php8.2",
  "qemu",
  "wireshark",
  "tiff",
  "binutils",
  "glibc",
  "openssl",
  "curl",
  "libxml2",
  "python3.11",
  "vim",
  "ffmpeg",
  "mysql-8.0",
  "postgresql-15",
  "gnutls28",
  "nss",
  "libvpx",
  "ghostscript",
  "poppler",
  "systemd",
  "sqlite3",
  "expat",
  "zlib",
  "krb5",
  "nginx",
  "apache2",
  "git",
  "libssh",
  "openssh",
  "bind9",
  "samba",
  "perl",
  "ruby3.1",
  "nodejs",
  "tar",
  "gzip",
  "xz-utils",
  "bash",
  "sudo",
  "shadow",
  "util-linux",
  "e2fsprogs",
  "pcre2",
  "libpng1.6",
  "libjpeg-turbo",
  "freetype",
  "fontconfig",
  "cups",
  "dbus",
  "glib2.0",
  "gtk+3.0",
  "libx11",
  "xorg-server",
  "busybox",
  "musl",
  "apk-tools",
  "ncurses",
  "readline",
  "libgcrypt20",
  "gnupg2",
  "libtasn1-6",
  "p11-kit",
  "ca-certificates",
  "coreutils",
  "dpkg",
  "apt",
  "libzstd",
];
const LANG_HEAD: Record<string, string[]> = {
  npm: ["lodash", "next", "axios", "express", "jsonwebtoken", "minimist", "node-forge", "undici", "ws", "semver"],
  PyPI: ["tensorflow", "django", "pillow", "jinja2", "urllib3", "requests", "cryptography", "lxml", "pyyaml", "numpy"],
  Go: ["github.com/hashicorp/vault", "golang.org/x/net", "github.com/containerd/containerd", "golang.org/x/crypto"],
  Maven: [
    "org.springframework:spring-core",
    "com.fasterxml.jackson.core:jackson-databind",
    "org.apache.logging.log4j:log4j-core",
  ],
  "crates.io": ["openssl", "tokio", "hyper", "regex", "smallvec"],
  RubyGems: ["rails", "nokogiri", "actionpack", "rack", "activesupport"],
  NuGet: ["System.Text.Json", "Newtonsoft.Json", "Microsoft.AspNetCore.App.Runtime.linux-x64"],
  Packagist: ["symfony/http-kernel", "laravel/framework", "guzzlehttp/guzzle", "twig/twig"],
};

export interface FeedSpec {
  /** Folder in the corpus, as OSV's bucket names it. */
  folder: string;
  kind: "debian" | "ubuntu" | "alpine" | "suse" | "redhat" | "ghsa" | "malicious";
  ecosystem: string;
  records: number;
  packages: number;
  /** Power-law exponent of advisories per package (higher: heavier head). */
  skew: number;
}

/** Record counts per feed, summing to ~600k as all OSV ecosystems do (scaled down for a smoke run). */
export const FEEDS: readonly FeedSpec[] = [
  { folder: "Debian", kind: "debian", ecosystem: "Debian", records: 80_000, packages: 5_000, skew: 3.2 },
  { folder: "Ubuntu", kind: "ubuntu", ecosystem: "Ubuntu", records: 90_000, packages: 5_000, skew: 3.2 },
  { folder: "Alpine", kind: "alpine", ecosystem: "Alpine", records: 50_000, packages: 3_000, skew: 2.8 },
  { folder: "SUSE", kind: "suse", ecosystem: "SUSE", records: 70_000, packages: 6_000, skew: 2.5 },
  { folder: "Red Hat", kind: "redhat", ecosystem: "Red Hat", records: 37_000, packages: 4_000, skew: 2.5 },
  { folder: "npm", kind: "ghsa", ecosystem: "npm", records: 50_000, packages: 20_000, skew: 2.5 },
  { folder: "npm-malicious", kind: "malicious", ecosystem: "npm", records: 150_000, packages: 150_000, skew: 1 },
  { folder: "PyPI", kind: "ghsa", ecosystem: "PyPI", records: 15_000, packages: 5_000, skew: 2.5 },
  { folder: "PyPI-malicious", kind: "malicious", ecosystem: "PyPI", records: 15_000, packages: 15_000, skew: 1 },
  { folder: "Go", kind: "ghsa", ecosystem: "Go", records: 12_000, packages: 4_000, skew: 2.5 },
  { folder: "Maven", kind: "ghsa", ecosystem: "Maven", records: 15_000, packages: 5_000, skew: 2.5 },
  { folder: "crates.io", kind: "ghsa", ecosystem: "crates.io", records: 3_000, packages: 1_500, skew: 2 },
  { folder: "RubyGems", kind: "ghsa", ecosystem: "RubyGems", records: 4_000, packages: 1_500, skew: 2 },
  { folder: "NuGet", kind: "ghsa", ecosystem: "NuGet", records: 3_000, packages: 1_200, skew: 2 },
  { folder: "Packagist", kind: "ghsa", ecosystem: "Packagist", records: 6_000, packages: 2_000, skew: 2 },
];
export const NVD_CVES = 250_000;

export const DEBIAN_RELEASES = ["11", "12", "13"];
export const UBUNTU_RELEASES = ["20.04:LTS", "22.04:LTS", "24.04:LTS"];
export const ALPINE_RELEASES = ["v3.18", "v3.19", "v3.20", "v3.21"];

export function packageName(feed: Pick<FeedSpec, "kind" | "ecosystem">, index: number): string {
  const os = ["debian", "ubuntu", "alpine", "suse", "redhat"].includes(feed.kind);
  if (os) return OS_HEAD[index] ?? `lib${["ssl", "xml", "gfx", "net", "db", "ui", "core"][index % 7]}-${index}`;
  const head = LANG_HEAD[feed.ecosystem] ?? [];
  if (feed.kind === "ghsa" && head[index]) return head[index]!;
  const id = feed.kind === "malicious" ? `mal${index}` : String(index);
  switch (feed.ecosystem) {
    case "Maven":
      return `org.example${index % 211}:artifact-${id}`;
    case "Go":
      return `github.com/example${index % 307}/module-${id}`;
    case "Packagist":
      return `vendor${index % 101}/package-${id}`;
    case "NuGet":
      return `Example.Package${id}`;
    default:
      return `package-${id}`;
  }
}

/** A CVE id of the NVD corpus: index in [0, NVD_CVES · scale). */
export function cveId(index: number): string {
  return `CVE-${1999 + (index % 27)}-${String(1000 + Math.floor(index / 27)).padStart(4, "0")}`;
}

const VECTORS = [
  "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
  "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:H/I:N/A:N",
  "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H",
  "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:N/A:H",
  "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N",
];
const SCORES = [9.8, 6.5, 7.8, 5.9, 6.1];

const semver = (random: () => number): string =>
  `${Math.floor(random() * 12)}.${Math.floor(random() * 20)}.${Math.floor(random() * 30)}`;

function osVersion(kind: FeedSpec["kind"], upstream: string, release: string, random: () => number): string {
  switch (kind) {
    case "debian":
      return `${upstream}-${1 + Math.floor(random() * 4)}+deb${release}u${1 + Math.floor(random() * 5)}`;
    case "ubuntu":
      return `${upstream}-${1 + Math.floor(random() * 4)}ubuntu0.${release.slice(0, 5)}.${1 + Math.floor(random() * 6)}`;
    case "alpine":
      return `${upstream}-r${Math.floor(random() * 6)}`;
    default:
      return `${upstream}-${1 + Math.floor(random() * 200)}.el9_${Math.floor(random() * 5)}`;
  }
}

const details = (random: () => number, name: string): string =>
  `A flaw was found in ${name}. ${"An attacker able to supply crafted input could cause memory corruption, a denial of service or disclosure of information. ".repeat(1 + Math.floor(random() * 3))}`;

/** One OSV record of `feed`, number `index`. */
export function osvRecord(feed: FeedSpec, index: number, scale: number, random: () => number): object {
  const packages = Math.max(1, Math.round(feed.packages * Math.sqrt(scale)));
  const name = packageName(feed, skewed(random, packages, feed.skew));
  const cves = Math.max(1, Math.round(NVD_CVES * scale));
  const cve = cveId(Math.floor(random() * cves));
  const modified = `202${Math.floor(random() * 6)}-0${1 + Math.floor(random() * 9)}-1${Math.floor(random() * 9)}T10:00:00Z`;
  const references = [
    { type: "ADVISORY", url: `https://security-tracker.example.invalid/${cve}` },
    { type: "WEB", url: `https://bugs.example.invalid/show_bug.cgi?id=${index}` },
  ];
  const base = { schema_version: "1.6.3", modified, published: modified };
  switch (feed.kind) {
    case "debian":
    case "ubuntu":
    case "alpine": {
      const releases =
        feed.kind === "debian" ? DEBIAN_RELEASES : feed.kind === "ubuntu" ? UBUNTU_RELEASES : ALPINE_RELEASES;
      const upstream = semver(random);
      const affected = releases
        .filter(() => random() < 0.8)
        .map((release) => {
          // Most advisories are fixed in every release; a few stay open (postponed, no-dsa).
          const fixed = random() < 0.97 ? osVersion(feed.kind, upstream, release, random) : undefined;
          const entry: Record<string, unknown> = {
            package: { ecosystem: `${feed.ecosystem}:${release}`, name },
            ranges: [{ type: "ECOSYSTEM", events: [{ introduced: "0" }, ...(fixed ? [{ fixed }] : [])] }],
          };
          // Canonical lists every affected version explicitly.
          if (feed.kind === "ubuntu")
            entry["versions"] = Array.from(
              { length: 3 + Math.floor(random() * 25) },
              (_, i) => `${upstream}-${i}ubuntu1`,
            );
          if (feed.kind === "debian")
            entry["ecosystem_specific"] = { urgency: pick(random, ["low", "medium", "high"]) };
          return entry;
        });
      if (affected.length === 0) affected.push({ package: { ecosystem: `${feed.ecosystem}:${releases[0]}`, name } });
      const prefix = feed.kind === "debian" ? "DEBIAN" : feed.kind === "ubuntu" ? "UBUNTU" : "ALPINE";
      return {
        ...base,
        id: `${prefix}-${cve}-${index}`,
        upstream: [cve],
        details: details(random, name),
        ...(feed.kind === "ubuntu"
          ? { severity: [{ type: "Ubuntu", score: pick(random, ["low", "medium", "high"]) }] }
          : {}),
        affected,
        references,
      };
    }
    case "suse":
    case "redhat": {
      // One advisory fixes a source package and lists its binary packages per product.
      const upstream = semver(random);
      const fixed = osVersion(feed.kind, upstream, "9", random);
      const products =
        feed.kind === "suse"
          ? ["SUSE:Linux Enterprise Server 15 SP5", "SUSE:Linux Enterprise Server 15 SP6", "openSUSE:Leap 15.6"]
          : ["Red Hat:enterprise_linux:9::appstream", "Red Hat:enterprise_linux:9::baseos"];
      const binaries = [name, `${name}-devel`, `${name}-libs`, `${name}-debuginfo`].slice(
        0,
        1 + Math.floor(random() * 4),
      );
      return {
        ...base,
        id: feed.kind === "suse" ? `SUSE-SU-2024:${index}-1` : `RHSA-2024:${index}`,
        summary: `Security update for ${name}`,
        details: details(random, name),
        aliases: [cve],
        related: [cve],
        affected: products.flatMap((ecosystem) =>
          binaries.map((binary) => ({
            package: { ecosystem, name: binary, purl: `pkg:rpm/${feed.kind}/${binary}` },
            ranges: [{ type: "ECOSYSTEM", events: [{ introduced: "0" }, { fixed }] }],
          })),
        ),
        references,
      };
    }
    case "malicious": {
      const versions = Array.from({ length: 1 + Math.floor(random() * 3) }, () => semver(random));
      return {
        ...base,
        id: `MAL-2024-${index}`,
        summary: `Malicious code in ${name} (${feed.ecosystem})`,
        details: "The OpenSSF Package Analysis project identified the package as malicious.",
        affected: [{ package: { ecosystem: feed.ecosystem, name }, versions }],
        database_specific: { "malicious-packages-origins": [{ source: "ossf-package-analysis" }] },
      };
    }
    default: {
      // GitHub-reviewed advisory: one or more ranges (one per maintained branch), aliases to a CVE.
      const branches = 1 + Math.floor(random() * 3);
      const affected = Array.from({ length: branches }, (_, b) => {
        const fixed = `${b + Math.floor(random() * 3)}.${Math.floor(random() * 20)}.${Math.floor(random() * 10)}`;
        return {
          package: { ecosystem: feed.ecosystem, name },
          ranges: [
            {
              type:
                feed.ecosystem === "Go" || feed.ecosystem === "npm" || feed.ecosystem === "crates.io"
                  ? "SEMVER"
                  : "ECOSYSTEM",
              events: [
                { introduced: b === 0 ? "0" : `${fixed.split(".")[0]}.0.0` },
                ...(random() < 0.95 ? [{ fixed }] : []),
              ],
            },
          ],
          database_specific: { source: "https://github.com/github/advisory-database" },
        };
      });
      const severity = random() < 0.7 ? [{ type: "CVSS_V3", score: pick(random, VECTORS) }] : undefined;
      return {
        ...base,
        id: `GHSA-${index.toString(36).padStart(4, "0")}-${feed.folder
          .slice(0, 4)
          .toLowerCase()
          .replace(/[^a-z]/g, "x")}-${(index * 7919).toString(36).slice(-4).padStart(4, "x")}`,
        summary: `Vulnerability in ${name}`,
        details: details(random, name),
        aliases: random() < 0.85 ? [cve] : [],
        ...(severity ? { severity } : {}),
        affected,
        database_specific: { severity: pick(random, ["LOW", "MODERATE", "HIGH", "CRITICAL"]), github_reviewed: true },
        references,
      };
    }
  }
}

/** One NVD CVE API 2.0 page (the shape of ../shared/vulns/nvd-api-2.0/full-page.json). */
export function nvdPage(from: number, to: number, total: number, random: () => number): string {
  const vulnerabilities = [];
  for (let i = from; i < to; i++) {
    const v = Math.floor(random() * VECTORS.length);
    const metrics: Record<string, unknown> = {};
    // About a fifth of CVEs await NVD analysis: no metrics at all, or only the CNA's.
    const analysed = random() < 0.8;
    const cna = random() < 0.6;
    const v31 = [];
    if (analysed)
      v31.push({
        source: "nvd@nist.gov",
        type: "Primary",
        cvssData: { version: "3.1", vectorString: VECTORS[v], baseScore: SCORES[v], baseSeverity: "HIGH" },
        exploitabilityScore: 3.9,
        impactScore: 5.9,
      });
    if (cna) {
      const c = (v + 1) % VECTORS.length;
      v31.push({
        source: "security@example.invalid",
        type: "Secondary",
        cvssData: { version: "3.1", vectorString: VECTORS[c], baseScore: SCORES[c], baseSeverity: "HIGH" },
        exploitabilityScore: 2.8,
        impactScore: 3.6,
      });
    }
    if (v31.length > 0) metrics["cvssMetricV31"] = v31;
    if (analysed && i % 27 < 10)
      metrics["cvssMetricV2"] = [
        {
          source: "nvd@nist.gov",
          type: "Primary",
          cvssData: { version: "2.0", vectorString: "AV:N/AC:L/Au:N/C:P/I:P/A:P", baseScore: 7.5 },
          baseSeverity: "HIGH",
        },
      ];
    const id = cveId(i);
    vulnerabilities.push({
      cve: {
        id,
        sourceIdentifier: "security@example.invalid",
        published: "2024-04-12T05:15:06.927",
        lastModified: "2025-06-17T04:38:24.500",
        vulnStatus: analysed ? "Analyzed" : "Awaiting Analysis",
        cveTags: [],
        descriptions: [{ lang: "en", value: `Synthetic description of ${id}: ${details(random, "a component")}` }],
        metrics,
        weaknesses: [
          { source: "nvd@nist.gov", type: "Primary", description: [{ lang: "en", value: `CWE-${20 + (i % 900)}` }] },
        ],
        configurations: analysed
          ? [
              {
                nodes: [
                  {
                    operator: "OR",
                    negate: false,
                    cpeMatch: [
                      {
                        vulnerable: true,
                        criteria: `cpe:2.3:a:vendor${i % 5000}:product${i % 7000}:*:*:*:*:*:*:*:*`,
                        versionEndExcluding: semver(random),
                        matchCriteriaId: "A545BDF6-D358-44FB-8FF7-5D0166DC6B9B",
                      },
                    ],
                  },
                ],
              },
            ]
          : [],
        references: [{ url: `https://www.example.invalid/advisories/${id}`, source: "security@example.invalid" }],
      },
    });
  }
  return JSON.stringify({
    resultsPerPage: to - from,
    startIndex: from,
    totalResults: total,
    format: "NVD_CVE",
    version: "2.0",
    timestamp: "2025-06-20T00:00:00.000",
    vulnerabilities,
  });
}

const ZIP_CHUNK = 25_000;
const NVD_PAGE = 2_000;

function writeZip(file: string, members: Iterable<[string, Buffer]>): Promise<void> {
  return new Promise((resolve, reject) => {
    const zip = new yazl.ZipFile();
    // Stored, not deflated: 25k concurrent deflate streams would cost gigabytes; the build reads both alike.
    for (const [name, content] of members) zip.addBuffer(content, name, { compress: false });
    zip.outputStream.pipe(createWriteStream(file)).on("close", resolve).on("error", reject);
    zip.end();
  });
}

export interface CorpusInfo {
  dir: string;
  records: number;
  cves: number;
  generatedSeconds?: number;
}

/**
 * Writes the corpus for `scale` (1 = full size) under `dir`, unless a complete one is there already
 * (a `complete` marker is written last, so an interrupted generation is redone).
 */
export async function ensureCorpus(dir: string, scale: number): Promise<CorpusInfo> {
  const records = FEEDS.reduce((sum, feed) => sum + Math.max(1, Math.round(feed.records * scale)), 0);
  const cves = Math.max(1, Math.round(NVD_CVES * scale));
  if (existsSync(path.join(dir, "complete"))) return { dir, records, cves };
  const started = performance.now();
  const partial = `${dir}.partial`;
  rmSync(partial, { recursive: true, force: true });
  for (const feed of FEEDS) {
    const folder = path.join(partial, "osv", feed.folder);
    mkdirSync(folder, { recursive: true });
    const count = Math.max(1, Math.round(feed.records * scale));
    const random = rng(feed.folder.length * 7919 + feed.records);
    for (let first = 0; first < count; first += ZIP_CHUNK) {
      const members: Array<[string, Buffer]> = [];
      for (let i = first; i < Math.min(count, first + ZIP_CHUNK); i++) {
        const record = osvRecord(feed, i, scale, random) as { id: string };
        members.push([`${record.id.replace(/[^A-Za-z0-9.-]/g, "_")}.json`, Buffer.from(JSON.stringify(record))]);
      }
      await writeZip(path.join(folder, `all-${first / ZIP_CHUNK}.zip`), members);
    }
  }
  const nvd = path.join(partial, "nvd");
  mkdirSync(nvd, { recursive: true });
  const random = rng(250_000);
  for (let first = 0; first < cves; first += NVD_PAGE) {
    writeFileSync(
      path.join(nvd, `page-${String(first / NVD_PAGE).padStart(4, "0")}.json`),
      nvdPage(first, Math.min(cves, first + NVD_PAGE), cves, random),
    );
  }
  writeFileSync(path.join(partial, "complete"), `${records} records, ${cves} CVEs\n`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(path.dirname(dir), { recursive: true });
  renameSync(partial, dir);
  return { dir, records, cves, generatedSeconds: (performance.now() - started) / 1000 };
}
