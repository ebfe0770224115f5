import type { FileView, OsDetector, OsInfo } from "../types.js";
import { warning } from "../warnings.js";
import { osvEcosystem, type ReleaseFacts } from "./ecosystem.js";
import { eolDate } from "./eol.js";
import { firstLine, parseKeyValue } from "./key-value.js";
import {
  RED_HAT_DERIVATIVES,
  contentSetCpes,
  defaultContentSets,
  isContentManifest,
  readContentSets,
} from "./redhat.js";
import { DEBIAN_CODENAMES, UBUNTU_CODENAMES, isUbuntuLtsVersion, ubuntuVersionForCodename } from "./releases.js";

const NAME = "os-release";

/** apt sources: the one-line lists and the deb822 `.sources` files the Pro client writes. */
const APT_SOURCE = /^etc\/apt\/sources\.list(\.d\/[A-Za-z0-9_.-]+\.(list|sources))?$/;

function isAptSource(path: string): boolean {
  return path.startsWith("etc/apt/sources.list") && APT_SOURCE.test(path);
}

const OS_RELEASE = ["etc/os-release", "usr/lib/os-release"];
const DEBIAN_VERSION = "etc/debian_version";
const ALPINE_RELEASE = "etc/alpine-release";
const APK_REPOSITORIES = "etc/apk/repositories";
const LSB_RELEASE = "etc/lsb-release";
const UBUNTU_ADVANTAGE_STATUS = "var/lib/ubuntu-advantage/status.json";
/** Oracle images also carry a redhat-release naming RHEL, so the vendor's own file is read first. */
const RPM_RELEASE_FILES = [
  "etc/oracle-release",
  "etc/almalinux-release",
  "etc/rocky-release",
  "etc/centos-release",
  "etc/fedora-release",
  "etc/redhat-release",
  "etc/system-release",
];

const WANTED = new Set([
  ...OS_RELEASE,
  DEBIAN_VERSION,
  ALPINE_RELEASE,
  APK_REPOSITORIES,
  LSB_RELEASE,
  UBUNTU_ADVANTAGE_STATUS,
  ...RPM_RELEASE_FILES,
]);

/** os-release IDs that name the same distro differently across its history. */
const ID_ALIASES: Readonly<Record<string, string>> = {
  // openSUSE Leap 42.x still used the pre-Leap ID.
  opensuse: "opensuse-leap",
};

export function createOsDetector(): OsDetector {
  return {
    name: NAME,
    // 4: Red Hat mainline CPEs for Rocky, Alma, CentOS and Oracle images.
    version: 4,
    wants: (path) => WANTED.has(path) || isContentManifest(path) || isAptSource(path),
    detect: (view, warnings) => {
      try {
        return detectOs(view, warnings ?? []);
      } catch (error) {
        // Detection is best effort: an unexpected file shape must not abort a scan.
        warnings?.push(warning(NAME, undefined, `OS detection failed: ${String(error)}`));
        return { family: "unknown" };
      }
    },
  };
}

function detectOs(view: FileView, warnings: string[]): OsInfo {
  const facts =
    fromOsRelease(view) ??
    fromLsbRelease(view) ??
    fromAlpineRelease(view) ??
    fromDebianVersion(view) ??
    fromRpmRelease(view);
  if (!facts) return { family: "unknown" };

  if (facts.family === "debian") refineDebian(view, facts, warnings);
  else if (facts.family === "ubuntu") refineUbuntu(view, facts, warnings);
  else if (facts.family === "alpine") refineAlpine(view, facts, warnings);
  let contentSets: string[] | undefined;
  if (facts.family === "rhel") {
    const found = readContentSets(view, warnings, NAME);
    contentSets = found.length > 0 ? found : defaultContentSets(/^\d+/.exec(facts.version ?? "")?.[0]);
    facts.cpes = contentSetCpes(contentSets, warnings, NAME);
  } else if (RED_HAT_DERIVATIVES.has(facts.family)) {
    // Built from Red Hat's sources: matched against Red Hat's mainline streams of the same major
    // release as well (docs/distro-matching.md "Rebuilds and derivatives"). They have no content sets.
    facts.cpes = contentSetCpes(defaultContentSets(/^\d+/.exec(facts.version ?? "")?.[0]), warnings, NAME);
  }

  const info: OsInfo = { family: facts.family };
  if (facts.version) info.version = facts.version;
  if (facts.codename) info.codename = facts.codename;
  const ecosystem = osvEcosystem(facts);
  if (ecosystem) info.ecosystem = ecosystem;
  if (facts.prettyName) info.prettyName = facts.prettyName;
  if (contentSets?.length) info.contentSets = contentSets;
  if (facts.cpes?.length) info.cpes = facts.cpes;
  if (facts.esm) info.esm = facts.esm;
  const eol = eolDate(info);
  if (eol) info.eol = eol;
  return info;
}

function readFields(view: FileView, path: string): Map<string, string> | undefined {
  const content = view.read(path);
  return content ? parseKeyValue(content.toString("utf8")) : undefined;
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}

function fromOsRelease(view: FileView): ReleaseFacts | undefined {
  for (const path of OS_RELEASE) {
    const fields = readFields(view, path);
    // A file without ID says nothing reliable; the other release files may still.
    const id = nonEmpty(fields?.get("ID"))?.toLowerCase();
    if (!fields || !id) continue;
    return {
      family: ID_ALIASES[id] ?? id,
      version: nonEmpty(fields.get("VERSION_ID")),
      codename: nonEmpty(fields.get("VERSION_CODENAME")) ?? nonEmpty(fields.get("UBUNTU_CODENAME")),
      prettyName: nonEmpty(fields.get("PRETTY_NAME")),
      lts: /\bLTS\b/.test(fields.get("VERSION") ?? ""),
    };
  }
  return undefined;
}

function fromLsbRelease(view: FileView): ReleaseFacts | undefined {
  const fields = readFields(view, LSB_RELEASE);
  if (!fields) return undefined;
  const description = nonEmpty(fields.get("DISTRIB_DESCRIPTION"));
  const id =
    nonEmpty(fields.get("DISTRIB_ID"))?.toLowerCase() ?? (description?.startsWith("Ubuntu") ? "ubuntu" : undefined);
  if (!id) return undefined;
  return {
    family: id,
    version: nonEmpty(fields.get("DISTRIB_RELEASE")),
    codename: nonEmpty(fields.get("DISTRIB_CODENAME")),
    prettyName: description,
    lts: /\bLTS\b/.test(description ?? ""),
  };
}

function fromAlpineRelease(view: FileView): ReleaseFacts | undefined {
  return view.read(ALPINE_RELEASE) ? { family: "alpine" } : undefined;
}

function fromDebianVersion(view: FileView): ReleaseFacts | undefined {
  return view.read(DEBIAN_VERSION) ? { family: "debian" } : undefined;
}

function fromRpmRelease(view: FileView): ReleaseFacts | undefined {
  for (const path of RPM_RELEASE_FILES) {
    const line = firstLine(view.read(path));
    const match = line && /^(.*?)\s+release\s+(\d[\w.]*)/i.exec(line);
    if (!match) continue;
    const family = rpmFamily(match[1]!);
    if (family) return { family, version: match[2], prettyName: line };
  }
  return undefined;
}

function rpmFamily(product: string): string | undefined {
  const rules: Array<[RegExp, string]> = [
    [/^(oracle|enterprise linux)/i, "ol"],
    [/^almalinux/i, "almalinux"],
    [/^rocky/i, "rocky"],
    [/^centos/i, "centos"],
    [/^fedora/i, "fedora"],
    [/^amazon linux/i, "amzn"],
    [/^red hat/i, "rhel"],
  ];
  return rules.find(([pattern]) => pattern.test(product))?.[1];
}

function refineDebian(view: FileView, facts: ReleaseFacts, warnings: string[]): void {
  const line = firstLine(view.read(DEBIAN_VERSION));
  if (line !== undefined) {
    const rolling = /^([a-z]+)\/sid$/.exec(line);
    if (/^\d+(\.\d+)*$/.test(line)) {
      // debian_version carries the point release ("12.5"); os-release only the major.
      facts.version = line;
    } else if (rolling) {
      facts.version = line;
      facts.codename = rolling[1];
      facts.rolling = true;
    } else {
      warnings.push(warning(NAME, DEBIAN_VERSION, `unrecognised Debian release "${line.slice(0, 40)}"`));
    }
  }
  if (!facts.version) {
    // Some testing/unstable os-release files only say it in PRETTY_NAME ("Debian GNU/Linux buster/sid").
    const rolling = facts.prettyName && /\b([a-z]+)\/sid\b/.exec(facts.prettyName);
    if (rolling) {
      facts.version = rolling[0];
      facts.codename = rolling[1];
      facts.rolling = true;
    }
  }
  if (facts.version && !facts.rolling) {
    const major = /^\d+/.exec(facts.version)?.[0];
    const known = major ? DEBIAN_CODENAMES[major] : undefined;
    if (known) facts.codename = known;
  } else if (!facts.version && facts.codename) {
    // A release with a codename but no number yet (testing before release) is keyed by codename.
    facts.rolling = true;
  }
}

function refineUbuntu(view: FileView, facts: ReleaseFacts, warnings: string[]): void {
  if (!facts.version && facts.codename) facts.version = ubuntuVersionForCodename(facts.codename);
  const release = facts.version && /^\d+\.\d+/.exec(facts.version)?.[0];
  if (release) {
    facts.codename ??= UBUNTU_CODENAMES[release];
    facts.lts = facts.lts || isUbuntuLtsVersion(release);
  }
  if (ubuntuProAttached(view, warnings)) {
    facts.pro = true;
    facts.esm = `${UBUNTU_ADVANTAGE_STATUS} (Pro attached, an esm-* service enabled)`;
    return;
  }
  const source = esmAptSource(view);
  if (source) {
    facts.pro = true;
    facts.esm = `${source} (an esm.ubuntu.com apt source)`;
  }
}

/**
 * An enabled apt source on esm.ubuntu.com: the Pro client writes ubuntu-esm-apps/-infra lists (or
 * deb822 .sources), and images built with a Pro token keep them. Comment lines do not count.
 * docs/distro-matching.md "Ubuntu ESM".
 */
function esmAptSource(view: FileView): string | undefined {
  for (const path of view.list(isAptSource)) {
    const content = view.read(path)?.toString("utf8") ?? "";
    const lines = content.split(/\r?\n/).map((line) => line.trim());
    if (lines.some((line) => !line.startsWith("#") && /\besm\.ubuntu\.com\b/.test(line))) return path;
  }
  return undefined;
}

/** Ubuntu Pro (ESM) is attached when the client's status says so and an ESM service is enabled (docs/matching-rules.md R4). */
function ubuntuProAttached(view: FileView, warnings: string[]): boolean {
  const content = view.read(UBUNTU_ADVANTAGE_STATUS);
  if (!content) return false;
  try {
    const status = JSON.parse(content.toString("utf8")) as { attached?: unknown; services?: unknown };
    if (status.attached !== true || !Array.isArray(status.services)) return false;
    return status.services.some(
      (service: { name?: unknown; status?: unknown } | null) =>
        typeof service?.name === "string" && service.name.startsWith("esm-") && service.status === "enabled",
    );
  } catch {
    warnings.push(warning(NAME, UBUNTU_ADVANTAGE_STATUS, "unreadable Ubuntu Pro status; assuming Pro is not attached"));
    return false;
  }
}

function refineAlpine(view: FileView, facts: ReleaseFacts, warnings: string[]): void {
  const line = firstLine(view.read(ALPINE_RELEASE));
  if (line !== undefined) {
    if (/^\d+\.\d+/.test(line)) facts.version = line;
    else warnings.push(warning(NAME, ALPINE_RELEASE, `unrecognised Alpine release "${line.slice(0, 40)}"`));
  }
  const fromRelease = facts.version && /^(\d+)\.(\d+)/.exec(facts.version);
  const releaseBranch = fromRelease ? `v${fromRelease[1]}.${fromRelease[2]}` : undefined;

  const branches = repositoryBranches(view.read(APK_REPOSITORIES));
  let branch = releaseBranch;
  if (branches.length === 1) {
    branch = branches[0];
  } else if (branches.length > 1) {
    // The base system came from the branch alpine-release names; else the newest one wins upgrades.
    branch = releaseBranch && branches.includes(releaseBranch) ? releaseBranch : branches[branches.length - 1];
    warnings.push(
      warning(NAME, APK_REPOSITORIES, `mixed Alpine repositories (${branches.join(", ")}); using ${branch}`),
    );
  }
  if (branch && releaseBranch && branch !== releaseBranch) {
    warnings.push(
      warning(
        NAME,
        APK_REPOSITORIES,
        `repositories point at ${branch} but alpine-release says ${facts.version}; using ${branch}`,
      ),
    );
  }
  if (branch === "edge") facts.version = "edge";
  facts.branch = branch;
}

/** Untagged repository branches, oldest first, edge last. Tagged (`@edge ...`) lines only serve pinned packages. */
function repositoryBranches(content: Buffer | undefined): string[] {
  if (!content) return [];
  const found = new Set<string>();
  for (const raw of content.toString("utf8").split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith("#") || line.startsWith("@")) continue;
    const match = /\/(v\d+\.\d+|edge)(?:\/|$)/.exec(line);
    if (match) found.add(match[1]!);
  }
  return [...found].sort(compareBranches);
}

function compareBranches(a: string, b: string): number {
  const rank = (branch: string): number[] =>
    branch === "edge" ? [Number.MAX_SAFE_INTEGER, 0] : branch.slice(1).split(".").map(Number);
  const [a1 = 0, a2 = 0] = rank(a);
  const [b1 = 0, b2 = 0] = rank(b);
  return a1 - b1 || a2 - b2;
}
