import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, expect, it } from "vitest";
import { scan } from "../../src/scan.js";
import { buildImage, buildLayer, writeOciArchive } from "../helpers/image-builder.js";
import { describeWithShared, sharedPath } from "../helpers/shared.js";

const work = mkdtempSync(path.join(os.tmpdir(), "stowaway-rpm-image-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describeWithShared("an Azure Linux / CBL-Mariner image with an SQLite rpm database, through scan()", () => {
  it("loads the SQLite engine on demand and lists what rpm itself lists", async () => {
    const db = sharedPath("fixtures/os-packages/rpm/cbl-mariner-2.0/rpmdb.sqlite");
    // Debian's rpm reads the SQLite backend: it is the independent oracle for the package set.
    const dbDir = path.join(work, "rpmdb");
    execFileSync("mkdir", ["-p", dbDir]);
    execFileSync("cp", [db, path.join(dbDir, "rpmdb.sqlite")]);
    const expected = execFileSync(
      "rpm",
      ["--dbpath", dbDir, "--define", "_db_backend sqlite", "-qa", "--qf", "%{NAME}\\n"],
      {
        encoding: "utf8",
      },
    )
      .split("\n")
      .filter((name) => name && name !== "gpg-pubkey")
      .sort();
    const layer = await buildLayer([
      { path: "etc/os-release", content: 'ID=mariner\nVERSION_ID="2.0"\nNAME="Common Base Linux Mariner"\n' },
      { path: "var/lib/rpm/rpmdb.sqlite", content: readFileSync(db) },
    ]);
    const archive = path.join(work, "mariner.oci.tar");
    await writeOciArchive(archive, { images: [{ image: buildImage({ layers: [layer] }) }] });
    const result = await scan(`oci-archive:${archive}`, { cacheDir: false });
    const names = result.packages
      .filter((pkg) => pkg.type === "rpm")
      .map((pkg) => pkg.name)
      .sort();
    expect(names).toEqual(expected);
    // The only thing worth a warning is the release itself: CBL-Mariner 2.0 is past its end of life.
    expect(result.warnings).toEqual([expect.stringMatching(/reached its end of life/)]);
  });
});
