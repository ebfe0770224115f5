import type { Package } from "../catalog/types.js";
import type { Finding } from "../result.js";
import { baseEcosystem } from "../versions/index.js";
import type { VulnerabilityStore } from "../vulndb/types.js";
import { apkMatcher } from "./apk.js";
import { dpkgMatcher, hasUbuntuEsm } from "./dpkg.js";
import { isOsPackage, lacksRelease, languageEcosystem } from "./ecosystem.js";
import { buildFindings, compareFindings } from "./findings.js";
import { languageMatcher } from "./language.js";
import { redHatFeeds, rpmMatcher } from "./rpm.js";
import { MatchMemo } from "./memo.js";
import type { MatchContext, MatchOptions, MatchResult, PackageMatcher, RecordMatch } from "./types.js";

export type { MatchOptions, MatchResult, PackageMatcher, RecordMatch } from "./types.js";
export { MatchMemo } from "./memo.js";
export { evaluateAffected, type AffectedHit, type EvaluationContext } from "./osv-range.js";
export { normalizePackageName, languageIdentity, goToolchainVersion, sameEcosystem } from "./ecosystem.js";
export {
  scoreVector,
  severityFromScore,
  severityFromWord,
  resolveSeverity,
  parseSeveritySourceOrder,
  DEFAULT_SEVERITY_SOURCE_ORDER,
  SEVERITY_SOURCE_KINDS,
  type SeveritySourceKind,
} from "./severity.js";
export { isDebianKernelHeaders } from "./dpkg.js";
export { isRpmKernelHeaders } from "./rpm.js";

const OS_MATCHERS: readonly PackageMatcher[] = [dpkgMatcher, apkMatcher, rpmMatcher];

interface Skipped {
  thirdParty: string[];
  noRelease: string[];
  noVersion: string[];
  noFeed: string[];
}

/**
 * The feeds (ecosystems with release) a package is matched in, per docs/matching-rules.md R1: OS packages only in their
 * distro release's feed, third-party OS packages in none, language packages in their ecosystem's.
 */
function feedsFor(pkg: Package, options: MatchOptions, store: VulnerabilityStore, skipped: Skipped): string[] {
  if (isOsPackage(pkg)) {
    // A vendor repository's build (docker-ce, nodesource, EPEL ...) is not the distro's package:
    // the distro's backported fix versions say nothing about it (docs/matching-rules.md P12).
    if (pkg.metadata?.thirdParty) {
      skipped.thirdParty.push(pkg.name);
      return [];
    }
    // Red Hat states fixes per product stream: every stream the image's content sets map to (R9).
    const streams = pkg.type === "rpm" ? redHatFeeds(pkg) : undefined;
    // A Red Hat derivative's own feed (Rocky Linux:9, AlmaLinux:9) comes first; CentOS and Oracle
    // have none (docs/distro-matching.md "Rebuilds and derivatives").
    const own = pkg.metadata?.redhatDerivative ? pkg.ecosystem?.trim() : undefined;
    if (streams) return own && !lacksRelease(own) ? [own, ...streams] : streams;
    const ecosystem = pkg.ecosystem?.trim() ?? "";
    if (!ecosystem || lacksRelease(ecosystem)) {
      if (ecosystem && options.comprehensive) {
        const releases = store.metadata().ecosystems.filter((e) => baseEcosystem(e) === ecosystem);
        if (releases.length > 0) return releases;
      }
      skipped.noRelease.push(pkg.name);
      return [];
    }
    return [ecosystem];
  }
  const ecosystem = languageEcosystem(pkg);
  if (!ecosystem) {
    skipped.noFeed.push(`${pkg.name} (${pkg.type})`);
    return [];
  }
  return [ecosystem];
}

function matcherFor(pkg: Package): PackageMatcher | undefined {
  return OS_MATCHERS.find((m) => m.handles(pkg)) ?? (languageMatcher.handles(pkg) ? languageMatcher : undefined);
}

function summarise(label: string, names: string[], why: string): string | undefined {
  if (names.length === 0) return undefined;
  const shown = names.slice(0, 10).join(", ");
  const more = names.length > 10 ? ` and ${names.length - 10} more` : "";
  return `match: ${names.length} ${label} not matched (${why}): ${shown}${more}`;
}

/**
 * Matches packages against the advisories in `store` and returns one finding per (package,
 * vulnerability), each recording why it matched. Problems with single advisories or packages
 * never abort the scan; they come back as warnings.
 */
export async function matchPackages(
  packages: Package[],
  store: VulnerabilityStore,
  options: MatchOptions = {},
): Promise<MatchResult> {
  const warnings = new Set<string>();
  const ubuntuEsm = hasUbuntuEsm(packages);
  // Warnings of each package are collected apart so a memo hit can repeat them.
  let packageWarnings: string[] = [];
  const ctx: MatchContext = {
    store,
    options,
    ubuntuEsm,
    warn: (m) => packageWarnings.push(`match: ${m}`),
  };
  const { memo, ...memoised } = options;
  memo?.bind(store, JSON.stringify(memoised));
  const skipped: Skipped = { thirdParty: [], noRelease: [], noVersion: [], noFeed: [] };
  const findings: Finding[] = [];

  for (const pkg of packages) {
    // No version, nothing to compare; OSV's local matcher calls such packages vulnerable (docs/matching-rules.md R15), we do not.
    if (!pkg.version?.trim()) {
      skipped.noVersion.push(pkg.name);
      continue;
    }
    const matcher = matcherFor(pkg);
    const feeds = feedsFor(pkg, options, store, skipped);
    if (!matcher || feeds.length === 0) continue;
    const key = memo ? MatchMemo.keyOf(pkg, feeds, ubuntuEsm) : "";
    const known = memo?.get(key, pkg);
    if (known) {
      findings.push(...known.findings);
      for (const warning of known.warnings) warnings.add(warning);
      continue;
    }
    packageWarnings = [];
    const matches: RecordMatch[] = [];
    for (const ecosystem of feeds) matches.push(...(await matcher.match(pkg, ecosystem, ctx)));
    const built = await buildFindings(pkg, matches, store, ctx.warn, options.severitySourceOrder);
    findings.push(...built);
    for (const warning of packageWarnings) warnings.add(warning);
    // Copies: policy evaluation annotates the findings it is given.
    memo?.set(key, { findings: built.map((finding) => ({ ...finding })), warnings: packageWarnings });
  }

  const notes = [
    summarise("third-party OS packages", skipped.thirdParty, "the distro feed does not describe vendor builds"),
    summarise("OS packages", skipped.noRelease, "no distro release detected to pick the advisory feed"),
    summarise("packages", skipped.noVersion, "no version"),
    summarise("packages", skipped.noFeed, "no advisory feed for their type"),
  ];
  for (const note of notes) if (note) warnings.add(note);
  return { findings: findings.sort(compareFindings), warnings: [...warnings] };
}
