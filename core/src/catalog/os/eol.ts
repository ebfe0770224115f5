import type { OsInfo } from "../types.js";

/**
 * End of the free security feed per release: past it, advisories stop and a scan that finds nothing
 * proves nothing (docs/matching-rules.md R11). Dates are the last supported day, taken from endoflife.date's product
 * pages (products/<name>.md in endoflife-date/endoflife.date), which cite each vendor's policy:
 * - Debian: the LTS end, since Debian's security tracker keeps covering LTS releases (DLAs);
 * - Ubuntu: standard support; releases with Ubuntu Pro attached use the ESM end (ESM_EOL below);
 * - RHEL, Oracle, Rocky, Alma: end of maintenance support, before any paid extended phase;
 * - SLES: general support per service pack (LTSS is a paid add-on).
 * Releases whose end is not announced are absent, which reads as "unknown", never as supported.
 * Update the table when vendors publish new releases; tests pin a fixed `now`.
 */
const EOL: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  debian: {
    "6": "2016-02-29",
    "7": "2018-05-31",
    "8": "2020-06-30",
    "9": "2022-07-01",
    "10": "2024-06-30",
    "11": "2026-08-31",
    "12": "2028-06-10",
    // Released 2025-08-09 after the endoflife.date snapshot read; LTS end as announced (2030-06-30).
    "13": "2030-06-30",
  },
  ubuntu: {
    "12.04": "2017-04-28",
    "14.04": "2019-04-02",
    "16.04": "2021-04-02",
    "18.04": "2023-05-31",
    "20.04": "2025-05-31",
    "22.04": "2027-04-01",
    "24.04": "2029-05-31",
    "26.04": "2031-04-30",
    "16.10": "2017-07-20",
    "17.04": "2018-01-13",
    "17.10": "2018-07-19",
    "18.10": "2019-07-18",
    "19.04": "2020-01-23",
    "19.10": "2020-07-06",
    "20.10": "2021-07-22",
    "21.04": "2022-01-20",
    "21.10": "2022-07-14",
    "22.10": "2023-07-20",
    "23.04": "2024-01-20",
    "23.10": "2024-07-12",
    "24.10": "2025-07-10",
    "25.04": "2026-01-17",
    "25.10": "2026-07-01",
  },
  alpine: {
    "3.0": "2016-05-01",
    "3.1": "2016-11-01",
    "3.2": "2017-05-01",
    "3.3": "2017-11-01",
    "3.4": "2018-05-01",
    "3.5": "2018-11-01",
    "3.6": "2019-05-01",
    "3.7": "2019-11-01",
    "3.8": "2020-05-01",
    "3.9": "2020-11-01",
    "3.10": "2021-05-01",
    "3.11": "2021-11-01",
    "3.12": "2022-05-01",
    "3.13": "2022-11-01",
    "3.14": "2023-05-01",
    "3.15": "2023-11-01",
    "3.16": "2024-05-23",
    "3.17": "2024-11-22",
    "3.18": "2025-05-09",
    "3.19": "2025-11-01",
    "3.20": "2026-04-01",
    "3.21": "2026-11-01",
    "3.22": "2027-05-01",
    "3.23": "2027-11-01",
  },
  rhel: {
    "5": "2017-03-31",
    "6": "2020-11-30",
    "7": "2024-06-30",
    "8": "2029-05-31",
    "9": "2032-05-31",
    // GA May 2025 with the same ten-year maintenance span as 8 and 9.
    "10": "2035-05-31",
  },
  centos: { "5": "2017-03-31", "6": "2020-11-30", "7": "2024-06-30", "8": "2021-12-31" },
  rocky: { "8": "2029-05-31", "9": "2032-05-31" },
  almalinux: { "8": "2029-03-01", "9": "2032-05-31", "10": "2035-05-31" },
  ol: { "6": "2021-03-01", "7": "2024-12-01", "8": "2029-07-01", "9": "2032-06-30" },
  amzn: {
    // Amazon Linux 1 (AMI releases 2010.11 to 2018.03) shares one end date.
    "2018.03": "2023-12-31",
    "2": "2025-06-30",
    "2023": "2028-03-15",
  },
  fedora: {
    "30": "2020-05-26",
    "31": "2020-11-24",
    "32": "2021-05-25",
    "33": "2021-11-30",
    "34": "2022-06-07",
    "35": "2022-12-13",
    "36": "2023-05-16",
    "37": "2023-12-05",
    "38": "2024-05-21",
    "39": "2024-11-26",
    "40": "2025-05-13",
    "41": "2025-12-15",
    "42": "2026-05-13",
    "43": "2026-12-09",
  },
  "opensuse-leap": {
    "42.1": "2017-05-17",
    "42.2": "2018-01-26",
    "42.3": "2019-07-01",
    "15.0": "2019-12-03",
    "15.1": "2021-02-02",
    "15.2": "2022-01-04",
    "15.3": "2022-12-31",
    "15.4": "2023-12-07",
    "15.5": "2024-12-31",
    "15.6": "2026-04-30",
    "16.0": "2027-10-31",
  },
  sles: {
    "11.4": "2019-03-31",
    "12": "2016-06-30",
    "12.1": "2017-05-31",
    "12.2": "2018-03-31",
    "12.3": "2019-06-30",
    "12.4": "2020-06-30",
    "12.5": "2024-10-31",
    "15": "2019-12-31",
    "15.1": "2021-01-31",
    "15.2": "2021-12-31",
    "15.3": "2022-12-31",
    "15.4": "2023-12-31",
    "15.5": "2024-12-31",
  },
  photon: { "1.0": "2022-02-28", "2.0": "2022-12-01", "3.0": "2024-03-01", "4.0": "2026-03-01" },
  mariner: { "1.0": "2023-08-31", "2.0": "2025-07-31" },
  azurelinux: { "2.0": "2025-07-31", "3.0": "2027-08-31" },
};

/** End of Expanded Security Maintenance, for Ubuntu LTS releases with Pro attached (docs/matching-rules.md R4). */
const ESM_EOL: Readonly<Record<string, string>> = {
  "14.04": "2024-04-02",
  "16.04": "2026-04-02",
  "18.04": "2028-04-01",
  "20.04": "2030-04-02",
  "22.04": "2032-04-09",
  "24.04": "2036-05-31",
  "26.04": "2036-04-30",
};

/** The table key for a release: the part of the version the vendor's lifecycle is stated for. */
function releaseKey(os: OsInfo): string | undefined {
  const version = os.version?.trim();
  const major = version ? /^\d+/.exec(version)?.[0] : undefined;
  const majorMinor = version ? /^\d+\.\d+/.exec(version)?.[0] : undefined;
  switch (os.family) {
    case "debian":
      // Testing and sid ("trixie/sid") have no end of life of their own.
      return version && /^\d/.test(version) ? major : undefined;
    case "ubuntu":
      return majorMinor;
    case "alpine":
      return /^Alpine:v(\d+\.\d+)$/.exec(os.ecosystem ?? "")?.[1] ?? majorMinor;
    case "rhel":
    case "centos":
    case "rocky":
    case "almalinux":
    case "ol":
    case "fedora":
      return major;
    case "amzn":
      // "2", "2023", "2023.6.20241010" (some images), "2018.03" (Amazon Linux 1).
      if (major === "2" || major === "2023") return major;
      return version && /^20(1\d)\.(03|09|11)$/.test(version) ? "2018.03" : undefined;
    case "opensuse-leap":
    case "photon":
    case "mariner":
    case "azurelinux":
      return majorMinor ?? (major ? `${major}.0` : undefined);
    case "sles":
      // SLES 15 SP0 has VERSION_ID "15"; service packs are "15.3" and so on.
      return majorMinor?.endsWith(".0") ? major : (majorMinor ?? major);
    default:
      return undefined;
  }
}

/** The last supported day of the release, "YYYY-MM-DD", or undefined when the table does not know it. */
export function eolDate(os: OsInfo): string | undefined {
  const key = releaseKey(os);
  if (!key) return undefined;
  if (os.family === "ubuntu" && os.ecosystem?.startsWith("Ubuntu:Pro:")) return ESM_EOL[key] ?? EOL.ubuntu?.[key];
  return EOL[os.family]?.[key];
}

/**
 * Whether the release is past its end of life at `now`. The date is the last supported day, so a
 * release is expired from the following day on (compared in UTC).
 */
export function endOfLife(os: OsInfo, now: Date): { eol: string; expired: boolean } | undefined {
  const eol = os.eol ?? eolDate(os);
  if (!eol || !/^\d{4}-\d{2}-\d{2}$/.test(eol)) return undefined;
  return { eol, expired: now.toISOString().slice(0, 10) > eol };
}
