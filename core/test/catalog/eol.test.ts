import { describe, expect, it } from "vitest";
import { createOsDetector, endOfLife, eolDate, type OsInfo } from "../../src/catalog/index.js";
import { MemoryView } from "../helpers/memory-view.js";

/*
 * Expected dates are the vendors' published ends of support as endoflife.date lists them
 * (products/<name>.md), restated here by hand so the table is checked against the source, not
 * against itself.
 */

const NOW = new Date("2025-06-15T12:00:00Z");

describe("endOfLife", () => {
  const cases: Array<[string, OsInfo, string | undefined, boolean | undefined]> = [
    ["Debian 12 point release, keyed by major, LTS end", { family: "debian", version: "12.5" }, "2028-06-10", false],
    ["Debian 10 (LTS ended 2024-06-30)", { family: "debian", version: "10" }, "2024-06-30", true],
    [
      "Debian testing has no end of life",
      { family: "debian", version: "trixie/sid", codename: "trixie" },
      undefined,
      undefined,
    ],
    [
      "Ubuntu 20.04 standard support",
      { family: "ubuntu", version: "20.04", ecosystem: "Ubuntu:20.04:LTS" },
      "2025-05-31",
      true,
    ],
    [
      "Ubuntu 20.04 with Pro attached gets ESM",
      { family: "ubuntu", version: "20.04", ecosystem: "Ubuntu:Pro:20.04:LTS" },
      "2030-04-02",
      false,
    ],
    ["Ubuntu 23.10 interim", { family: "ubuntu", version: "23.10" }, "2024-07-12", true],
    [
      "Alpine keyed by the repository branch",
      { family: "alpine", version: "3.18.4", ecosystem: "Alpine:v3.19" },
      "2025-11-01",
      false,
    ],
    ["Alpine 3.10 by version alone", { family: "alpine", version: "3.10.9" }, "2021-05-01", true],
    ["Alpine edge has none", { family: "alpine", version: "edge" }, undefined, undefined],
    ["RHEL 8.10, maintenance end", { family: "rhel", version: "8.10" }, "2029-05-31", false],
    ["RHEL 7", { family: "rhel", version: "7.9" }, "2024-06-30", true],
    ["CentOS 8 ended early", { family: "centos", version: "8" }, "2021-12-31", true],
    ["Rocky 9", { family: "rocky", version: "9.3" }, "2032-05-31", false],
    ["AlmaLinux 8", { family: "almalinux", version: "8.9" }, "2029-03-01", false],
    ["Oracle Linux 7", { family: "ol", version: "7.9" }, "2024-12-01", true],
    ["Amazon Linux 2", { family: "amzn", version: "2" }, "2025-06-30", false],
    ["Amazon Linux 2023", { family: "amzn", version: "2023" }, "2028-03-15", false],
    ["Amazon Linux 1", { family: "amzn", version: "2018.03" }, "2023-12-31", true],
    ["Fedora 40", { family: "fedora", version: "40" }, "2025-05-13", true],
    ["openSUSE Leap 15.5", { family: "opensuse-leap", version: "15.5" }, "2024-12-31", true],
    ["SLES 15 SP4", { family: "sles", version: "15.4" }, "2023-12-31", true],
    ["SLES 15 SP0 (VERSION_ID 15)", { family: "sles", version: "15" }, "2019-12-31", true],
    ["Photon 4.0", { family: "photon", version: "4.0" }, "2026-03-01", false],
    ["CBL-Mariner 2.0", { family: "mariner", version: "2.0" }, "2025-07-31", false],
    ["Azure Linux 3.0", { family: "azurelinux", version: "3.0" }, "2027-08-31", false],
    ["an unknown release of a known distro", { family: "fedora", version: "99" }, undefined, undefined],
    ["an unknown distro", { family: "unknown" }, undefined, undefined],
  ];

  it.each(cases)("%s", (_title, os, eol, expired) => {
    expect(eolDate(os)).toBe(eol);
    expect(endOfLife(os, NOW)).toEqual(eol === undefined ? undefined : { eol, expired });
  });

  it("treats the EOL date as the last supported day (UTC)", () => {
    const os: OsInfo = { family: "debian", version: "10" };
    expect(endOfLife(os, new Date("2024-06-30T23:59:59Z"))?.expired).toBe(false);
    expect(endOfLife(os, new Date("2024-07-01T00:00:00Z"))?.expired).toBe(true);
  });

  it("prefers a date already on the OsInfo (a scan result read back) over the table", () => {
    expect(endOfLife({ family: "debian", version: "12", eol: "2020-01-01" }, NOW)).toEqual({
      eol: "2020-01-01",
      expired: true,
    });
    expect(endOfLife({ family: "debian", version: "12", eol: "soon" }, NOW)).toBeUndefined();
  });
});

describe("the OS detector records the end of life", () => {
  const detector = createOsDetector();

  it("sets eol for a release the table knows", () => {
    const view = new MemoryView({
      "etc/os-release": 'ID=alpine\nVERSION_ID=3.10.9\nPRETTY_NAME="Alpine Linux v3.10"\n',
      "etc/alpine-release": "3.10.9\n",
    });
    expect(detector.detect(view, [])).toMatchObject({ family: "alpine", ecosystem: "Alpine:v3.10", eol: "2021-05-01" });
  });

  it("leaves eol out when it is unknown", () => {
    const view = new MemoryView({ "etc/os-release": "ID=alpine\nVERSION_ID=3.99.0\n" });
    expect(detector.detect(view, []).eol).toBeUndefined();
  });
});
