import { buildPurl } from "../purl.js";
import { isElfExecutable, readElf, readSection } from "../elf/index.js";
import type { FileCataloger, PackageCandidate } from "../types.js";
import { LimitExceeded, incompleteWarning, warning } from "../warnings.js";
import { parseAuditData } from "./audit-data.js";

const NAME = "rust";
const SECTION = ".dep-v0";
const MIN_BINARY_BYTES = 1024;
const MAX_BINARY_BYTES = 1024 ** 3;
/** cargo-auditable's compressed list is a few kilobytes; a larger section is not one. */
const MAX_SECTION_BYTES = 8 * 1024 * 1024;

/**
 * Rust binaries built with cargo-auditable. Only executables are read, for the same reason as Go:
 * non-executable ELF files in images are mostly test data.
 */
export function createRustBinaryCataloger(): FileCataloger {
  return {
    kind: "file",
    name: NAME,
    version: 1,
    wants: (_path, size, mode) => (mode & 0o111) !== 0 && size >= MIN_BINARY_BYTES,
    maxBytes: () => MAX_BINARY_BYTES,
    sniff: (head) => isElfExecutable(head),
    async analyze(file, context) {
      let section: Buffer | undefined;
      try {
        const elf = await readElf(file);
        const header = elf.sections.find((candidate) => candidate.name === SECTION);
        if (!header) return [];
        section = await readSection(file, header, MAX_SECTION_BYTES);
      } catch (error) {
        const message = (error as Error).message;
        context.warnings.push(
          error instanceof LimitExceeded
            ? incompleteWarning(file.path, `not read by ${NAME}: ${message}`)
            : warning(NAME, file.path, `unreadable ELF: ${message}`),
        );
        return [];
      }
      const { crates, problems, incomplete } = parseAuditData(section);
      for (const problem of problems)
        context.warnings.push(
          incomplete
            ? incompleteWarning(file.path, `not read by ${NAME}: ${problem}`)
            : warning(NAME, file.path, problem),
        );
      return (
        crates
          // Build-time crates (build scripts, proc-macros) run on the build machine; none of their code is in the binary.
          .filter((crate) => crate.kind === "runtime")
          .map((crate): PackageCandidate => ({
            name: crate.name,
            version: crate.version,
            type: "cargo",
            ecosystem: "crates.io",
            purl: buildPurl("cargo", undefined, crate.name, crate.version),
            locations: [file.path],
            metadata: { source: crate.source, ...(crate.root ? { root: true } : {}) },
          }))
      );
    },
  };
}
