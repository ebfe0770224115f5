import { DEBIAN_CODENAMES } from "../catalog/os/releases.js";
import { baseEcosystem } from "../versions/index.js";

// OSV ecosystem names (ecosystems.json), so a caller's "pypi" or "Crates.io" still finds "PyPI" / "crates.io".
const KNOWN_ECOSYSTEMS = [
  "AlmaLinux",
  "Alpaquita",
  "Alpine",
  "Android",
  "Azure Linux",
  "BellSoft Hardened Containers",
  "Bioconductor",
  "Bitnami",
  "Chainguard",
  "CleanStart",
  "ConanCenter",
  "CRAN",
  "crates.io",
  "Debian",
  "Docker Hardened Images",
  "Echo",
  "FreeBSD",
  "GHC",
  "GitHub Actions",
  "Go",
  "Hackage",
  "Hex",
  "Julia",
  "Kubernetes",
  "Linux",
  "Mageia",
  "Maven",
  "MinimOS",
  "npm",
  "NuGet",
  "opam",
  "openEuler",
  "openSUSE",
  "OSS-Fuzz",
  "Packagist",
  "Photon OS",
  "Pub",
  "PyPI",
  "Red Hat",
  "Rocky Linux",
  "Root",
  "RubyGems",
  "SUSE",
  "SwiftURL",
  "TuxCare",
  "Ubuntu",
  "VSCode",
  "Wolfi",
  "GIT",
];
const CANONICAL_BASE = new Map(KNOWN_ECOSYSTEMS.map((name) => [name.toLowerCase(), name]));

const DEBIAN_MAJOR_BY_CODENAME = new Map(
  Object.entries(DEBIAN_CODENAMES).map(([major, codename]) => [codename, major]),
);

/** Debian codename → major version ("bookworm" → "12"), or undefined for sid and unknown names. */
export function debianMajorFor(codename: string): string | undefined {
  return DEBIAN_MAJOR_BY_CODENAME.get(codename.toLowerCase());
}

/**
 * The ecosystem key the store files records under: canonical base spelling, and Debian releases by
 * major version whether the caller says "Debian:bookworm", "Debian:12" or "Debian:12.5" (docs/matching-rules.md R3, P10), so a
 * rolling image keyed by codename still finds the tracker's data for that release.
 */
export function normalizeEcosystem(ecosystem: string): string {
  const trimmed = ecosystem.trim();
  const base = baseEcosystem(trimmed);
  const canonical = CANONICAL_BASE.get(base.toLowerCase()) ?? base;
  const colon = trimmed.indexOf(":");
  if (colon < 0) return canonical;
  let suffix = trimmed.slice(colon + 1).trim();
  if (canonical === "Debian") {
    const major = /^(\d+)(?:\.\d+)*$/.exec(suffix)?.[1] ?? debianMajorFor(suffix);
    suffix = major ?? suffix.toLowerCase();
  }
  return `${canonical}:${suffix}`;
}

/**
 * The package name in the form its registry treats as identical: PEP 503 for PyPI, case-folded where
 * the registry is case-insensitive (NuGet, Packagist, Pub), otherwise as published (npm, Go module
 * paths and Maven `groupId:artifactId` are case-sensitive).
 */
export function normalizePackageName(ecosystem: string, name: string): string {
  const trimmed = name.trim();
  switch (CANONICAL_BASE.get(baseEcosystem(ecosystem).toLowerCase())) {
    case "PyPI":
      return trimmed.toLowerCase().replace(/[-_.]+/g, "-");
    case "NuGet":
    case "Packagist":
    case "Pub":
      return trimmed.toLowerCase();
    case "Go":
      return trimmed.replace(/\/+$/, "");
    case "Maven":
      // Some feeds write "groupId/artifactId"; OSV's form is "groupId:artifactId".
      return trimmed.includes(":") ? trimmed : trimmed.replace("/", ":");
    default:
      return trimmed;
  }
}
