import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { describe } from "vitest";

/** ../shared beside the repository root: read-only reference data that CI always provides. */
export const SHARED_DIR = path.resolve(fileURLToPath(new URL("../../../../shared", import.meta.url)));
export const HAS_SHARED = existsSync(path.join(SHARED_DIR, "README.md"));

export function sharedPath(...parts: string[]): string {
  return path.join(SHARED_DIR, ...parts);
}

/**
 * `describe` for suites that read ../shared: on a fresh clone without it they are skipped with a
 * message saying why, instead of failing.
 */
export function describeWithShared(name: string, body: () => void): void {
  if (HAS_SHARED) {
    describe(name, body);
  } else {
    describe.skip(`${name} (skipped: ${SHARED_DIR} is absent; CI provides it)`, body);
  }
}
