/** Debian major release -> codename (distro-info-data debian.csv). */
export const DEBIAN_CODENAMES: Readonly<Record<string, string>> = {
  "4": "etch",
  "5": "lenny",
  "6": "squeeze",
  "7": "wheezy",
  "8": "jessie",
  "9": "stretch",
  "10": "buster",
  "11": "bullseye",
  "12": "bookworm",
  "13": "trixie",
  "14": "forky",
  "15": "duke",
};

/** Ubuntu release -> codename (distro-info-data ubuntu.csv), for files that only carry one of them. */
export const UBUNTU_CODENAMES: Readonly<Record<string, string>> = {
  "6.06": "dapper",
  "8.04": "hardy",
  "10.04": "lucid",
  "10.10": "maverick",
  "11.04": "natty",
  "11.10": "oneiric",
  "12.04": "precise",
  "12.10": "quantal",
  "13.04": "raring",
  "13.10": "saucy",
  "14.04": "trusty",
  "14.10": "utopic",
  "15.04": "vivid",
  "15.10": "wily",
  "16.04": "xenial",
  "16.10": "yakkety",
  "17.04": "zesty",
  "17.10": "artful",
  "18.04": "bionic",
  "18.10": "cosmic",
  "19.04": "disco",
  "19.10": "eoan",
  "20.04": "focal",
  "20.10": "groovy",
  "21.04": "hirsute",
  "21.10": "impish",
  "22.04": "jammy",
  "22.10": "kinetic",
  "23.04": "lunar",
  "23.10": "mantic",
  "24.04": "noble",
  "24.10": "oracular",
  "25.04": "plucky",
  "25.10": "questing",
};

export function ubuntuVersionForCodename(codename: string): string | undefined {
  const wanted = codename.toLowerCase();
  return Object.keys(UBUNTU_CODENAMES).find((version) => UBUNTU_CODENAMES[version] === wanted);
}

/**
 * Ubuntu LTS releases are the April releases of even years (plus 6.06, which slipped to June). Used
 * when os-release has no "LTS" in VERSION, as with minimal and older images.
 */
export function isUbuntuLtsVersion(version: string): boolean {
  if (version === "6.06") return true;
  const match = /^(\d+)\.04$/.exec(version);
  if (!match) return false;
  const year = Number(match[1]);
  return year >= 8 && year % 2 === 0;
}
