import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";

/** One package to add: what rpm itself records in the header. */
export interface RpmSpec {
  name: string;
  version: string;
  release: string;
  epoch?: number;
  arch: "noarch" | "x86_64";
  modularityLabel?: string;
  /** The VENDOR tag; default "Red Hat, Inc.". */
  vendor?: string;
}

function requireTool(command: string): void {
  try {
    execFileSync(command, ["--version"], { stdio: "ignore" });
  } catch {
    throw new Error(`${command} is needed to build the test rpm database: apt-get install -y rpm`);
  }
}

const SQLITE = ["--define", "_db_backend sqlite"];

/**
 * An rpmdb.sqlite written by rpm itself: the headers of a real BerkeleyDB database (exported with
 * `rpmdb --exportdb`, imported with `--importdb`), plus empty packages that rpmbuild makes from
 * `specs` and `rpm --justdb` registers, so header layout, SOURCERPM and MODULARITYLABEL are rpm's.
 */
export function buildRpmdb(work: string, realBdb: string, specs: RpmSpec[]): Buffer {
  requireTool("rpm");
  requireTool("rpmbuild");
  const bdb = path.join(work, "bdb");
  const db = path.join(work, "db");
  const top = path.join(work, "rpmbuild");
  mkdirSync(bdb, { recursive: true });
  mkdirSync(db, { recursive: true });
  copyFileSync(realBdb, path.join(bdb, "Packages"));
  const exported = execFileSync("rpmdb", ["--dbpath", bdb, "--define", "_db_backend bdb_ro", "--exportdb"], {
    stdio: ["ignore", "pipe", "ignore"],
  });
  execFileSync("rpmdb", ["--dbpath", db, ...SQLITE, "--importdb"], {
    input: exported,
    stdio: ["pipe", "ignore", "pipe"],
  });
  for (const spec of specs) {
    const file = path.join(work, `${spec.name}.spec`);
    writeFileSync(
      file,
      [
        `Name: ${spec.name}`,
        `Version: ${spec.version}`,
        `Release: ${spec.release}`,
        ...(spec.epoch !== undefined ? [`Epoch: ${spec.epoch}`] : []),
        "Summary: test package",
        "License: MIT",
        `Vendor: ${spec.vendor ?? "Red Hat, Inc."}`,
        `BuildArch: ${spec.arch}`,
        ...(spec.modularityLabel ? [`ModularityLabel: ${spec.modularityLabel}`] : []),
        "%description",
        "test package",
        "%files",
        "",
      ].join("\n"),
    );
    execFileSync("rpmbuild", ["-bb", "--define", `_topdir ${top}`, "--target", spec.arch, file], { stdio: "ignore" });
  }
  const rpms = readdirSync(path.join(top, "RPMS"), { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".rpm"))
    .map((f) => path.join(top, "RPMS", f));
  if (rpms.length > 0) {
    execFileSync(
      "rpm",
      ["--dbpath", db, ...SQLITE, "-i", "--justdb", "--nodeps", "--noscripts", "--ignorearch", "--ignoreos", ...rpms],
      { stdio: "ignore" },
    );
  }
  // rpm checkpoints the write-ahead log when it closes the database, so the main file is complete.
  return readFileSync(path.join(db, "rpmdb.sqlite"));
}
