import type * as PackageUrlModule from "packageurl-js";
import { osvEcosystem, type ReleaseFacts } from "../catalog/os/ecosystem.js";
import { DEBIAN_CODENAMES, isUbuntuLtsVersion, ubuntuVersionForCodename } from "../catalog/os/releases.js";
import type { OsInfo } from "../catalog/types.js";

import { lazyDependency } from "../lazy-dependency.js";

// eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use, see lazyDependency
const packageUrl = lazyDependency<typeof PackageUrlModule>("packageurl-js", () => require("packageurl-js"));

/** What a package URL says about a package, in Stowaway's terms. */
export interface PurlFacts {
  type: string;
  name: string;
  version: string;
  /** OSV ecosystem, "" when the purl type has none or the release cannot be told. */
  ecosystem: string;
  arch?: string;
  /** From the `upstream` qualifier (Syft, snyk, Stowaway). */
  source?: { name: string; version: string };
  /** The release named by the `distro` qualifier, when there is one. */
  os?: OsInfo;
  /** The purl as given, trimmed. */
  purl: string;
}

/** purl type → OSV ecosystem for language packages (osv-schema ecosystems list). */
const LANGUAGE_ECOSYSTEMS: Readonly<Record<string, string>> = {
  npm: "npm",
  pypi: "PyPI",
  golang: "Go",
  maven: "Maven",
  cargo: "crates.io",
  nuget: "NuGet",
  composer: "Packagist",
  gem: "RubyGems",
  hex: "Hex",
  pub: "Pub",
  hackage: "Hackage",
  cran: "CRAN",
  swift: "SwiftURL",
  conan: "ConanCenter",
  bitnami: "Bitnami",
};

/** Types whose namespace is part of the name as the ecosystem spells it. */
const SLASH_NAMESPACED = new Set(["npm", "golang", "composer", "swift", "github", "bitbucket"]);
const OS_TYPES = new Set(["deb", "apk", "rpm", "alpm"]);

/** purl namespaces (vendors) that differ from the os-release ID of their distro. */
const NAMESPACE_FAMILY: Readonly<Record<string, string>> = {
  redhat: "rhel",
  oracle: "ol",
  amazon: "amzn",
  opensuse: "opensuse-leap",
  suse: "sles",
  mariner: "azurelinux",
};

export function isOsPurlType(type: string): boolean {
  return OS_TYPES.has(type);
}

/**
 * Reads a package URL. Throws packageurl-js's error on malformed input; the caller turns it into a
 * warning naming the component. `fallbackOs` is the SBOM's own OS, used when an OS package's purl
 * has no `distro` qualifier (CycloneDX from Trivy puts the release only on the OS component).
 */
export function purlFacts(text: string, fallbackOs?: OsInfo): PurlFacts {
  const purl = packageUrl().PackageURL.fromString(text.trim());
  const type = purl.type.toLowerCase();
  const namespace = purl.namespace ?? "";
  const qualifiers = (purl.qualifiers ?? {}) as Record<string, string>;
  let name = purl.name;
  if (type === "maven" && namespace) name = `${namespace}:${purl.name}`;
  else if (SLASH_NAMESPACED.has(type) && namespace) name = `${namespace}/${purl.name}`;

  let version = purl.version ?? "";
  // Trivy moves the epoch into a qualifier; Debian and RPM compare versions with it.
  const epoch = qualifiers.epoch;
  if (version && epoch && epoch !== "0" && OS_TYPES.has(type) && !/^\d+:/.test(version)) {
    version = `${epoch}:${version}`;
  }

  const facts: PurlFacts = { type, name, version, ecosystem: "", purl: text.trim() };
  if (qualifiers.arch) facts.arch = qualifiers.arch;
  if (qualifiers.upstream) facts.source = upstreamSource(type, qualifiers.upstream, version);

  if (OS_TYPES.has(type)) {
    const vendor = namespace.toLowerCase();
    const os = qualifiers.distro ? distroRelease(qualifiers.distro, vendor) : undefined;
    if (os) facts.os = os;
    const family = os?.family ?? NAMESPACE_FAMILY[vendor] ?? vendor;
    if (os?.ecosystem) facts.ecosystem = os.ecosystem;
    else if (fallbackOs?.ecosystem && fallbackOs.family === family) facts.ecosystem = fallbackOs.ecosystem;
    else if (family === "debian") facts.ecosystem = "Debian";
    else if (family === "wolfi" || family === "chainguard") facts.ecosystem = osvEcosystem({ family }) ?? "";
  } else {
    facts.ecosystem = LANGUAGE_ECOSYSTEMS[type] ?? "";
  }
  return facts;
}

/**
 * `upstream=` forms: `src@srcver` (Syft deb, Stowaway), `src` alone (same version as the binary),
 * and `name-version-release.src.rpm` (Syft rpm).
 */
function upstreamSource(type: string, upstream: string, binaryVersion: string): { name: string; version: string } {
  const srpm = /^(.+)-([^-]+)-([^-]+)\.src\.rpm$/.exec(upstream);
  if (type === "rpm" && srpm) {
    // SRPM file names carry no epoch; the binary's applies (docs/matching-rules.md R6).
    const epoch = /^(\d+):/.exec(binaryVersion)?.[1];
    return { name: srpm[1]!, version: `${epoch ? `${epoch}:` : ""}${srpm[2]}-${srpm[3]}` };
  }
  const at = upstream.lastIndexOf("@");
  if (at > 0) return { name: upstream.slice(0, at), version: upstream.slice(at + 1) };
  return { name: upstream, version: binaryVersion };
}

/**
 * The release in a `distro` qualifier: `debian-12`, `debian-12.5`, `debian-bookworm` (snyk),
 * `ubuntu-22.04`, `alpine-3.19.1`, `centos-7.6.1810`, `opensuse-leap-15.5`, or a bare `3.19.1`
 * (Trivy apk), whose family is the purl namespace.
 */
export function distroRelease(distro: string, vendor: string): OsInfo | undefined {
  const text = distro.trim().toLowerCase();
  let family: string;
  let rest: string;
  const numbered = /^(?:([a-z][a-z0-9-]*?)-)?(\d[\w.+~-]*)$/.exec(text);
  const named = /^([a-z][a-z0-9]*)-([a-z][a-z-]*)$/.exec(text);
  if (numbered) {
    family = numbered[1] ?? NAMESPACE_FAMILY[vendor] ?? vendor;
    rest = numbered[2]!;
  } else if (named) {
    family = named[1]!;
    rest = named[2]!;
  } else {
    return undefined;
  }
  if (!family) return undefined;
  family = NAMESPACE_FAMILY[family] ?? family;
  const facts: ReleaseFacts = { family };
  if (/^\d/.test(rest)) {
    facts.version = rest;
  } else if (family === "debian") {
    const major = Object.keys(DEBIAN_CODENAMES).find((key) => DEBIAN_CODENAMES[key] === rest);
    facts.codename = rest;
    if (major) facts.version = major;
    // sid, or a codename newer than our table: only the codename bucket is right (docs/matching-rules.md P10).
    else facts.rolling = true;
  } else if (family === "ubuntu") {
    facts.codename = rest;
    const version = ubuntuVersionForCodename(rest);
    if (version) facts.version = version;
  } else if (family === "opensuse" && rest === "tumbleweed") {
    facts.family = "opensuse-tumbleweed";
  } else {
    facts.codename = rest;
  }
  if (facts.family === "ubuntu" && facts.version) {
    const release = /^\d+\.\d+/.exec(facts.version)?.[0];
    facts.lts = release !== undefined && isUbuntuLtsVersion(release);
  }
  if (facts.family === "alpine" && facts.version) {
    const branch = /^(\d+\.\d+)/.exec(facts.version)?.[1];
    if (branch) facts.branch = `v${branch}`;
  }
  const ecosystem = osvEcosystem(facts);
  return {
    family: facts.family,
    ...(facts.version ? { version: facts.version } : {}),
    ...(facts.codename ? { codename: facts.codename } : {}),
    ...(ecosystem ? { ecosystem } : {}),
  };
}
