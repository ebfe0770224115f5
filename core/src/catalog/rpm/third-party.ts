/**
 * Third-party rpm packages: what a vendor's own repository installed rather than the distro. They
 * are not in the distro's advisory feed, so matching them against it gives false results (trivy
 * #722/#649, remi), and their files must stay unowned so language packages inside them are still
 * scanned (docs/matching-rules.md §3.1, P12). The VENDOR tag decides, read against the image's own distro:
 * "Fedora Project" is Fedora itself on Fedora but EPEL on RHEL, "Microsoft Corporation" is Azure
 * Linux itself there but packages-microsoft-com anywhere else.
 */

/** The vendor strings each distro's own builds carry (`rpm -qa --qf '%{VENDOR}'` on its images). */
const DISTRO_VENDORS: Readonly<Record<string, RegExp>> = {
  rhel: /^Red Hat\b/i,
  centos: /^CentOS\b/i,
  rocky: /^Rocky\b/i,
  almalinux: /^AlmaLinux\b/i,
  ol: /^Oracle America\b/i,
  amzn: /^Amazon\b/i,
  fedora: /^Fedora Project\b/i,
  // Leap 15.3+ ships SUSE's enterprise binaries beside its own.
  "opensuse-leap": /^(open)?SUSE\b/i,
  "opensuse-tumbleweed": /^(open)?SUSE\b/i,
  sles: /^SUSE\b/i,
  sled: /^SUSE\b/i,
  "sle-micro": /^SUSE\b/i,
  "sl-micro": /^SUSE\b/i,
  photon: /^(VMware|Broadcom)\b/i,
  mariner: /^Microsoft Corporation\b/i,
  azurelinux: /^Microsoft Corporation\b/i,
};

/** Names for vendors that publish rpm repositories; anything else keeps its own vendor string. */
const KNOWN_VENDORS: ReadonlyArray<[vendor: string, pattern: RegExp]> = [
  ["docker", /^Docker\b/i],
  ["nvidia", /^NVIDIA\b/i],
  ["microsoft", /^Microsoft\b/i],
  ["google", /^Google\b/i],
  ["nodesource", /NodeSource/i],
  ["remi", /\bRemi\b|remirepo/i],
  // Packages built by the Fedora Project on a distro other than Fedora come from EPEL.
  ["epel", /^Fedora Project\b/i],
  ["rpmfusion", /RPM Fusion/i],
  ["ius", /^IUS\b/i],
  ["hashicorp", /HashiCorp/i],
  ["mongodb", /MongoDB/i],
  ["elastic", /^Elastic/i],
  ["grafana", /Grafana/i],
  ["postgresql", /PostgreSQL Global Development Group/i],
  ["mysql", /^MySQL\b|Oracle and\/or its affiliates/i],
  ["mariadb", /MariaDB/i],
  ["percona", /Percona/i],
  ["nginx", /NGINX|Nginx, Inc/i],
  ["datadog", /Datadog/i],
  ["gitlab", /GitLab/i],
  ["jfrog", /JFrog/i],
  ["newrelic", /New Relic/i],
  ["influxdata", /InfluxData/i],
  ["treasure-data", /Treasure Data/i],
];

/**
 * The vendor behind a third-party package, or undefined for the distro's own packages. A package
 * without a VENDOR tag is left to the distro: nothing says otherwise, and treating it as foreign
 * would hide it from the distro feed. On a distro this table does not know, only vendors that are
 * known to publish their own repositories count as third-party.
 */
export function rpmThirdPartyVendor(vendor: string | undefined, family: string | undefined): string | undefined {
  const trimmed = vendor?.trim();
  if (!trimmed) return undefined;
  const own = family ? DISTRO_VENDORS[family] : undefined;
  if (own?.test(trimmed)) return undefined;
  const known = KNOWN_VENDORS.find(([, pattern]) => pattern.test(trimmed))?.[0];
  if (own) return known ?? trimmed;
  if (Object.values(DISTRO_VENDORS).some((pattern) => pattern.test(trimmed))) return undefined;
  return known;
}
