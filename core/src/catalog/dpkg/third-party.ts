/**
 * Vendors that publish their own apt repositories. Their packages are not in the distro's security
 * feed, so matching them against it gives false results (trivy #722/#649), and the files they install
 * must stay unowned so language packages inside them are still scanned (trivy #9916; docs/matching-rules.md §3.1).
 * Patterns name the vendor or its packaging address, never a bare domain that Debian developers also
 * use for personal maintainer addresses (several maintain Debian packages from google.com, for one).
 */
const VENDORS: ReadonlyArray<[vendor: string, pattern: RegExp]> = [
  ["docker", /@docker\.com>/i],
  // Debian's own driver packages are maintained by "Debian NVIDIA Maintainers", so no bare vendor word.
  ["nvidia", /@nvidia\.com>|NVIDIA CORPORATION/i],
  ["microsoft", /\bMicrosoft\b|@microsoft\.com>|PowerShell Team/i],
  ["nodesource", /nodesource/i],
  ["hashicorp", /hashicorp/i],
  ["mongodb", /@mongodb\.com>/i],
  ["grafana", /@grafana\.com>|Grafana Labs/i],
  ["google-cloud", /Google Cloud|gcloud@google\.com|google-cloud-sdk/i],
  ["google-chrome", /Chrome Linux Team/i],
  ["elastic", /@elastic\.co>/i],
  ["datadog", /@datadoghq\.com>|Datadog Packages/i],
  ["newrelic", /@newrelic\.com>/i],
  ["influxdata", /@influxdata\.com>/i],
  ["jfrog", /@jfrog\.com>/i],
  ["gitlab", /@gitlab\.com>|GitLab Inc/i],
  ["nginx", /nginx-packaging@|NGINX Packaging/i],
  ["mysql", /mysql-build@oss\.oracle\.com|MySQL Release Engineering/i],
  ["percona", /@percona\.com>/i],
  ["yarn", /Yarn Packaging/i],
  ["treasure-data", /@treasure-data\.com>|@treasuredata\.com>/i],
];

/** The vendor behind a third-party package, from its Maintainer field; undefined for distro packages. */
export function thirdPartyVendor(maintainer: string | undefined): string | undefined {
  if (!maintainer) return undefined;
  return VENDORS.find(([, pattern]) => pattern.test(maintainer))?.[0];
}
