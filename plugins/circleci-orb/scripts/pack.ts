/**
 * Packs the orb source (src/) into one orb.yml the way `circleci orb pack src` does: every YAML
 * file under commands/, jobs/, executors/ and examples/ becomes an element named after the file,
 * `@orb.yml` supplies the top-level keys, and `<<include(path)>>` values are replaced by the file
 * they name (relative to src/), with `<<` escaped so CircleCI does not read script text as
 * parameter syntax.
 *
 *   npx tsx plugins/circleci-orb/scripts/pack.ts [SRC_DIR] [OUT_FILE]
 */
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { dump, load } from "js-yaml";

const ELEMENT_DIRS = ["commands", "executors", "jobs", "examples"];
const INCLUDE = /<<\s*include\(([-\w/.]+)\)\s*>>/g;
const isYaml = (name: string) => /\.ya?ml$/.test(name);

function readYaml(file: string): unknown {
  return load(readFileSync(file, "utf8"), { filename: file });
}

/** One value, whole, is an include; anything else containing one is an error, as in the CircleCI CLI. */
export function resolveInclude(value: string, srcDir: string): string {
  const matches = [...value.matchAll(INCLUDE)];
  if (matches.length === 0) return value;
  if (matches.length > 1) throw new Error(`multiple include statements: '${value}'`);
  const [whole, file] = matches[0]!;
  if (whole !== value) throw new Error(`entire string must be include statement: '${value}'`);
  const target = path.resolve(srcDir, file!);
  if (path.relative(srcDir, target).startsWith("..")) throw new Error(`include outside the orb source: ${file}`);
  let text: string;
  try {
    text = readFileSync(target, "utf8");
  } catch {
    throw new Error(`could not open ${target} for inclusion`);
  }
  return text.replaceAll("<<", "\\<<");
}

function resolveAll(node: unknown, srcDir: string): unknown {
  if (typeof node === "string") return resolveInclude(node, srcDir);
  if (Array.isArray(node)) return node.map((item) => resolveAll(item, srcDir));
  if (node && typeof node === "object") {
    return Object.fromEntries(Object.entries(node).map(([key, value]) => [key, resolveAll(value, srcDir)]));
  }
  return node;
}

export function packOrb(srcDir: string): Record<string, unknown> {
  const orb: Record<string, unknown> = {};
  for (const entry of readdirSync(srcDir).sort()) {
    const full = path.join(srcDir, entry);
    if (statSync(full).isDirectory()) {
      if (!ELEMENT_DIRS.includes(entry)) continue;
      const elements: Record<string, unknown> = {};
      for (const file of readdirSync(full).filter(isYaml).sort()) {
        elements[file.replace(/\.ya?ml$/, "")] = readYaml(path.join(full, file));
      }
      if (Object.keys(elements).length > 0) orb[entry] = elements;
    } else if (isYaml(entry)) {
      const content = readYaml(full);
      if (entry.startsWith("@")) Object.assign(orb, content as object);
      else orb[entry.replace(/\.ya?ml$/, "")] = content;
    }
  }
  return resolveAll(orb, srcDir) as Record<string, unknown>;
}

export function packOrbYaml(srcDir: string): string {
  return dump(packOrb(srcDir), { lineWidth: -1, noRefs: true });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const pluginDir = path.resolve(fileURLToPath(new URL("..", import.meta.url)));
  const srcDir = path.resolve(process.argv[2] ?? path.join(pluginDir, "src"));
  const outFile = path.resolve(process.argv[3] ?? path.join(pluginDir, "dist/orb.yml"));
  mkdirSync(path.dirname(outFile), { recursive: true });
  writeFileSync(outFile, packOrbYaml(srcDir));
  console.log(`packed ${srcDir} into ${outFile}`);
}
