/** Formats a cataloger warning the one way reports expect: "<source>: <path>: <message>". */
export function warning(source: string, path: string | undefined, message: string): string {
  return path ? `${source}: ${path}: ${message}` : `${source}: ${message}`;
}

/** The machine-readable code of a warning that says the inventory misses what a file would have added. */
export const INVENTORY_INCOMPLETE = "inventory-incomplete";

/** A file the scan did not read in full: what it would have listed is missing from the inventory. */
export interface InventoryGap {
  code: typeof INVENTORY_INCOMPLETE;
  /** Image path (root-relative) or archive member that was not read in full. */
  path: string;
  /** Why, and by whom: "not read by dpkg: 70000000 bytes, over its 268435456-byte limit". */
  message: string;
}

/**
 * Formats the warning for a file some cataloger wanted but did not read in full (too big, an archive
 * bomb, too many entries ...). Nothing a cataloger wants is dropped without one: the gate can fail on
 * it (`gate.failOnIncompleteInventory`). The path is JSON-quoted so it parses back unambiguously and
 * control characters from the image never reach a log raw.
 */
export function incompleteWarning(path: string, message: string): string {
  return `${INVENTORY_INCOMPLETE}: ${JSON.stringify(path)} ${message}`;
}

const INCOMPLETE_PATTERN = /^inventory-incomplete: ("(?:[^"\\]|\\.)*") ([\s\S]*)$/;

/** The gap a warning made by `incompleteWarning` describes; undefined for any other warning. */
export function parseIncompleteWarning(text: string): InventoryGap | undefined {
  const match = INCOMPLETE_PATTERN.exec(text);
  if (!match) return undefined;
  try {
    return { code: INVENTORY_INCOMPLETE, path: JSON.parse(match[1]!) as string, message: match[2]! };
  } catch {
    return undefined;
  }
}

/** Every inventory gap among `warnings`, in order. */
export function inventoryGaps(warnings: readonly string[]): InventoryGap[] {
  return warnings.map(parseIncompleteWarning).filter((gap): gap is InventoryGap => gap !== undefined);
}

/**
 * Thrown where a bound keeps content from being read (an entry over its size limit, too many zip
 * entries, an oversized section): catalogers turn it into an `inventory-incomplete` warning.
 */
export class LimitExceeded extends Error {}
