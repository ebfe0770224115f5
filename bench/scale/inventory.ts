/**
 * Image inventories for the scale benchmark, drawn from the same names as the corpus (bench/scale/corpus.ts):
 * a distro base (Debian 12, Ubuntu 22.04 or Alpine 3.19 packages, popular ones most often, as images hold
 * openssl and zlib far more often than an obscure library) plus application packages of a language
 * ecosystem. A registry's images share bases and application stacks, so a rescan sees the same packages
 * across many images, as it does for real.
 */
import type { Package } from "../../core/src/catalog/types.js";
import type { ScanResult } from "../../core/src/result.js";
import { FEEDS, packageName, rng, skewed, type FeedSpec } from "./corpus.js";

const feed = (folder: string): FeedSpec => FEEDS.find((f) => f.folder === folder)!;

interface Distro {
  family: string;
  version: string;
  ecosystem: string;
  feed: FeedSpec;
  type: "deb" | "apk";
}
const DISTROS: readonly Distro[] = [
  { family: "debian", version: "12", ecosystem: "Debian:12", feed: feed("Debian"), type: "deb" },
  { family: "ubuntu", version: "22.04", ecosystem: "Ubuntu:22.04:LTS", feed: feed("Ubuntu"), type: "deb" },
  { family: "alpine", version: "3.19.1", ecosystem: "Alpine:v3.19", feed: feed("Alpine"), type: "apk" },
];
const LANGUAGES: ReadonlyArray<{ type: string; folder: string }> = [
  { type: "npm", folder: "npm" },
  { type: "pypi", folder: "PyPI" },
  { type: "maven", folder: "Maven" },
  { type: "golang", folder: "Go" },
  { type: "cargo", folder: "crates.io" },
  { type: "gem", folder: "RubyGems" },
  { type: "nuget", folder: "NuGet" },
  { type: "composer", folder: "Packagist" },
];

/**
 * Installed versions: most are current (major 12, newer than every fix the corpus states, which uses
 * majors 0-11), some outdated; so findings come from open advisories and stale packages, as for real.
 */
/**
 * Sources container images do not hold: the kernel (its headers, linux-libc-dev, are not matched by
 * default, docs/matching-rules.md R13) and desktop browsers/mail clients.
 */
const NOT_IN_IMAGES = new Set(["linux", "chromium", "firefox-esr", "thunderbird"]);

const version = (random: () => number, outdated: number): string =>
  `${random() < outdated ? Math.floor(random() * 12) : 12}.${Math.floor(random() * 20)}.${Math.floor(random() * 30)}`;

function osPackages(distro: Distro, count: number, scale: number, random: () => number): Package[] {
  const packages = Math.max(1, Math.round(distro.feed.packages * Math.sqrt(scale)));
  const seen = new Set<string>();
  const out: Package[] = [];
  for (let attempt = 0; out.length < count && attempt < count * 20; attempt++) {
    // Popular sources most often, but an image also holds packages no advisory names.
    const source =
      random() < 0.8 ? packageName(distro.feed, skewed(random, packages, 2)) : `unlisted-${Math.floor(random() * 1e6)}`;
    const binary = random() < 0.5 ? source : `${source}-bin${Math.floor(random() * 3)}`;
    if (seen.has(binary) || NOT_IN_IMAGES.has(source)) continue;
    seen.add(binary);
    const upstream = version(random, 0.08);
    const v =
      distro.type === "apk"
        ? `${upstream}-r${Math.floor(random() * 4)}`
        : `${upstream}-${1 + Math.floor(random() * 3)}`;
    out.push({
      id: `${distro.type}:${binary}`,
      name: binary,
      version: v,
      type: distro.type,
      ecosystem: distro.ecosystem,
      purl: `pkg:${distro.type}/${distro.family}/${binary}@${v}`,
      source: { name: source, version: v },
      locations: [distro.type === "apk" ? "lib/apk/db/installed" : "var/lib/dpkg/status"],
      layerIndex: 0,
    });
  }
  return out;
}

function languagePackages(
  language: (typeof LANGUAGES)[number],
  count: number,
  scale: number,
  random: () => number,
): Package[] {
  const spec = feed(language.folder);
  const packages = Math.max(1, Math.round(spec.packages * Math.sqrt(scale)));
  const seen = new Set<string>();
  const out: Package[] = [];
  for (let attempt = 0; out.length < count && attempt < count * 20; attempt++) {
    const name =
      random() < 0.6
        ? packageName(spec, skewed(random, packages, 2))
        : packageName(spec, packages + Math.floor(random() * 1e6));
    if (seen.has(name)) continue;
    seen.add(name);
    const v = version(random, 0.2);
    out.push({
      id: `${language.type}:${name}@${v}`,
      name,
      version: v,
      type: language.type,
      ecosystem: spec.ecosystem,
      purl: `pkg:${language.type}/${encodeURIComponent(name)}@${v}`,
      locations: [`app/${language.type}/${name}`],
      layerIndex: 1,
    });
  }
  return out;
}

/** The 2,000-package lookup set: a Debian, an Ubuntu and an Alpine base plus every language ecosystem. */
export function lookupPackages(total: number, scale: number, seed = 1): Package[] {
  const random = rng(seed);
  const os = Math.round(total * 0.4);
  const packages = [
    ...osPackages(DISTROS[0]!, Math.round(os * 0.4), scale, random),
    ...osPackages(DISTROS[1]!, Math.round(os * 0.4), scale, random),
    ...osPackages(DISTROS[2]!, os - 2 * Math.round(os * 0.4), scale, random),
  ];
  const weights = [0.35, 0.2, 0.15, 0.1, 0.05, 0.05, 0.05, 0.05];
  let left = total - packages.length;
  LANGUAGES.forEach((language, i) => {
    const count = i === LANGUAGES.length - 1 ? left : Math.round((total - os) * weights[i]!);
    packages.push(...languagePackages(language, count, scale, random));
    left -= count;
  });
  return packages;
}

/**
 * Inventories of a registry: `bases` distro bases and `stacks` application stacks; image i combines
 * base i mod bases with stack i mod stacks (as tags of the same repositories do).
 */
export function registryInventories(
  images: number,
  scale: number,
  options: { bases?: number; stacks?: number; osPackages?: number; appPackages?: number } = {},
): (index: number) => ScanResult {
  const bases = Array.from({ length: options.bases ?? 40 }, (_, b) => {
    const random = rng(1000 + b);
    const distro = DISTROS[b % DISTROS.length]!;
    return {
      distro,
      packages: osPackages(distro, distro.type === "apk" ? 25 : (options.osPackages ?? 100), scale, random),
    };
  });
  const stacks = Array.from({ length: options.stacks ?? 400 }, (_, s) => {
    const random = rng(5000 + s);
    const language = LANGUAGES[s % LANGUAGES.length]!;
    return languagePackages(language, options.appPackages ?? 60, scale, random);
  });
  return (index) => {
    const base = bases[index % bases.length]!;
    const stack = stacks[Math.floor(index / bases.length) % stacks.length]!;
    const digest = `sha256:${index.toString(16).padStart(64, "0")}`;
    return {
      schemaVersion: 1,
      scanner: { name: "stowaway", version: "bench" },
      artifact: {
        reference: `registry.example.invalid/team${index % 50}/app${index}:1.0.${index % 7}`,
        manifestDigest: digest,
        configDigest: `sha256:${(index + 1e9).toString(16).padStart(64, "0")}`,
        platform: { os: "linux", architecture: "amd64" },
        os: { family: base.distro.family, version: base.distro.version, ecosystem: base.distro.ecosystem },
        layers: [],
      },
      packages: [...base.packages, ...stack],
      warnings: [],
    } as ScanResult;
  };
}
