// Writes the repository root's action.yml, which GitHub Marketplace requires at the root, from this
// plugin's action.yml: same name, inputs, outputs and branding, with `runs.main` pointing at the
// committed bundle from the root. Usage: node scripts/root-action.mjs [outFile]
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const pluginDir = fileURLToPath(new URL("..", import.meta.url));
const repoDir = path.resolve(pluginDir, "../..");
const outFile = path.resolve(process.argv[2] ?? path.join(repoDir, "action.yml"));

const source = readFileSync(path.join(pluginDir, "action.yml"), "utf8");
const main = /^ {2}main: dist\/index\.js$/m;
if (!main.test(source)) {
  process.stderr.write(
    "plugins/github-action/action.yml: runs.main is not `dist/index.js`; update scripts/root-action.mjs\n",
  );
  process.exit(2);
}
const header = [
  "# Generated from plugins/github-action/action.yml by plugins/github-action/scripts/root-action.mjs",
  "# (run by `npm run build`); edit that file, not this one. GitHub Marketplace lists actions from",
  "# the repository root, so `uses: stowaway-dev/stowaway@v1` runs the same committed bundle as",
  "# `uses: stowaway-dev/stowaway/plugins/github-action@v1`.",
].join("\n");
const text = `${header}\n${source.replace(main, "  main: plugins/github-action/dist/index.js")}`;
const temp = `${outFile}.tmp-${process.pid}`;
writeFileSync(temp, text);
renameSync(temp, outFile);
