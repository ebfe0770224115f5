import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { deflateSync } from "node:zlib";
import { afterAll, expect, it } from "vitest";
import { createRustBinaryCataloger } from "../../src/catalog/rust/index.js";
import { describeWithShared, sharedPath } from "../helpers/shared.js";
import { analyzeFile, hasCommand, python } from "./lang-helpers.js";

const cataloger = createRustBinaryCataloger();
const HAS_OBJCOPY = hasCommand("objcopy", "--version");
const tempDir = mkdtempSync(path.join(os.tmpdir(), "stowaway-lang-rust-"));
afterAll(() => rmSync(tempDir, { recursive: true, force: true }));

interface Crate {
  name: string;
  version: string;
  source?: string;
  kind?: string;
  root?: boolean;
}

/** The .dep-v0 section as binutils extracts it, inflated and decoded by Python's zlib and json. */
function auditData(binary: string): Crate[] {
  const section = path.join(tempDir, `${path.basename(binary)}.dep-v0`);
  execFileSync("objcopy", ["--dump-section", `.dep-v0=${section}`, binary, path.join(tempDir, "discard")]);
  return python<{ packages: Crate[] }>(
    "import json, sys, zlib; print(zlib.decompress(open(sys.argv[1], 'rb').read()).decode())",
    section,
  ).packages;
}

/** A copy of `binary` whose .dep-v0 section holds `content` instead. */
function withSection(binary: string, content: Buffer, name: string): string {
  const data = path.join(tempDir, `${name}.section`);
  const out = path.join(tempDir, name);
  writeFileSync(data, content);
  execFileSync("objcopy", ["--update-section", `.dep-v0=${data}`, binary, out]);
  return out;
}

describeWithShared("rust cataloger on a cargo-auditable binary", () => {
  const binary = sharedPath("fixtures/binaries/rust/trivy-executable_rust");

  it.skipIf(!HAS_OBJCOPY)("reports every runtime crate of the audit data, the root crate included", async () => {
    const crates = auditData(binary);
    expect(crates.some((c) => c.root)).toBe(true);
    const { wanted, packages, warnings } = await analyzeFile(cataloger, "usr/bin/app", readFileSync(binary), 0o755);
    expect(wanted).toBe(true);
    expect(warnings).toEqual([]);
    expect(packages.map((p) => [p.name, p.version, p.purl, p.metadata?.source]).sort()).toEqual(
      crates
        .filter((c) => c.kind !== "build")
        .map((c) => [c.name, c.version, `pkg:cargo/${c.name}@${c.version}`, c.source ?? "crates.io"])
        .sort(),
    );
    expect(packages.every((p) => p.ecosystem === "crates.io" && p.type === "cargo")).toBe(true);
    expect(packages.find((p) => p.metadata?.root)?.name).toBe(crates.find((c) => c.root)!.name);
  });

  it.skipIf(!HAS_OBJCOPY)("leaves out build-time crates, which ship no code in the binary", async () => {
    const list = {
      packages: [
        { name: "app", version: "0.1.0", source: "local", root: true, dependencies: [1, 2] },
        { name: "serde", version: "1.0.190", source: "crates.io" },
        { name: "cc", version: "1.0.83", source: "crates.io", kind: "build" },
      ],
    };
    const copy = withSection(binary, deflateSync(Buffer.from(JSON.stringify(list))), "build-deps");
    const { packages } = await analyzeFile(cataloger, "usr/bin/app", readFileSync(copy), 0o755);
    expect(packages.map((p) => `${p.name}@${p.version}`)).toEqual(["app@0.1.0", "serde@1.0.190"]);
  });

  it.skipIf(!HAS_OBJCOPY)("warns about a section that is not zlib JSON, and refuses a zlib bomb", async () => {
    for (const [name, content, message] of [
      ["not-zlib", Buffer.from("plain text"), /\.dep-v0 does not inflate/],
      ["not-json", deflateSync(Buffer.from("{nope")), /\.dep-v0 is not JSON/],
      ["bomb", deflateSync(Buffer.alloc(64 * 1024 * 1024, 0x20)), /\.dep-v0 does not inflate/],
    ] as const) {
      const copy = withSection(binary, content, name);
      const { packages, warnings } = await analyzeFile(cataloger, "usr/bin/app", readFileSync(copy), 0o755);
      expect(packages, name).toEqual([]);
      expect(warnings, name).toEqual([expect.stringMatching(message)]);
    }
  });

  it("ignores ELF binaries without audit data", async () => {
    const go = readFileSync(sharedPath("fixtures/binaries/go/trivy-executable_gobinary"));
    expect(await analyzeFile(cataloger, "usr/bin/go-app", go, 0o755)).toEqual({
      wanted: true,
      packages: [],
      warnings: [],
    });
  });
});
