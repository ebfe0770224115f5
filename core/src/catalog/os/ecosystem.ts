/** What the OSV ecosystem string of an OS release depends on. */
export interface ReleaseFacts {
  family: string;
  version?: string;
  codename?: string;
  prettyName?: string;
  /** Ubuntu: the release is LTS. */
  lts?: boolean;
  /** Ubuntu: Pro/ESM is attached, so fixes published only to ESM apply. */
  pro?: boolean;
  /** Ubuntu: where the ESM access was seen. */
  esm?: string;
  /** Debian testing/unstable ("trixie/sid"): keyed by codename, never by number (docs/matching-rules.md P10). */
  rolling?: boolean;
  /** Alpine: branch taken from etc/apk/repositories or alpine-release ("v3.19", "edge"). */
  branch?: string;
  /** Red Hat: product-stream CPEs from the content sets (R9). */
  cpes?: string[];
}

/**
 * The OSV ecosystem (osv-schema ecosystems list) for packages of this release, or undefined where OSV
 * defines none (Alpine edge has no `v<number>` branch). Red Hat's is keyed by a product-stream CPE
 * (R9): the first of the image's streams; rpm packages carry the full list for matching.
 */
export function osvEcosystem(facts: ReleaseFacts): string | undefined {
  const { version } = facts;
  const major = version && /^\d+/.exec(version)?.[0];
  switch (facts.family) {
    case "debian":
      if (facts.rolling && facts.codename) return `Debian:${facts.codename}`;
      // OSV allows the bare ecosystem; a distroless image without a release number still gets Debian data.
      return major ? `Debian:${major}` : "Debian";
    case "ubuntu": {
      const release = version && /^\d+\.\d+/.exec(version)?.[0];
      if (!release) return undefined;
      if (facts.pro && facts.lts) return `Ubuntu:Pro:${release}:LTS`;
      return facts.lts ? `Ubuntu:${release}:LTS` : `Ubuntu:${release}`;
    }
    case "alpine":
      return facts.branch && facts.branch !== "edge" ? `Alpine:${facts.branch}` : undefined;
    case "rhel": {
      const cpe = facts.cpes?.[0];
      const suffix = cpe && /^cpe:\/[aoh]:redhat:(.+)$/.exec(cpe)?.[1];
      return suffix ? `Red Hat:${suffix}` : undefined;
    }
    case "almalinux":
      return major ? `AlmaLinux:${major}` : undefined;
    case "rocky":
      return major ? `Rocky Linux:${major}` : undefined;
    case "azurelinux":
      return major ? `Azure Linux:${major}` : undefined;
    case "photon":
      return version ? `Photon OS:${version.includes(".") ? version : `${version}.0`}` : undefined;
    case "opensuse-leap":
      return version ? `openSUSE:Leap ${version}` : undefined;
    case "opensuse-tumbleweed":
      return "openSUSE:Tumbleweed";
    case "sles":
    case "sled": {
      const match = version && /^(\d+)(?:\.(\d+))?/.exec(version);
      if (!match) return undefined;
      const product = facts.family === "sles" ? "Server" : "Desktop";
      const servicePack = match[2] && match[2] !== "0" ? ` SP${match[2]}` : "";
      return `SUSE:Linux Enterprise ${product} ${match[1]}${servicePack}`;
    }
    case "sle-micro":
    case "sle-micro-rancher":
    case "sl-micro":
      // OSV names SUSE products as PRETTY_NAME does, minus the vendor word.
      return facts.prettyName?.startsWith("SUSE ") ? `SUSE:${facts.prettyName.slice(5)}` : undefined;
    case "wolfi":
      return "Wolfi";
    case "chainguard":
      return "Chainguard";
    case "minimos":
      return "MinimOS";
    case "echo":
      return "Echo";
    default:
      return undefined;
  }
}
