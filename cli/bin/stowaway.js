#!/usr/bin/env node
// A committed entry point, so `npm ci` can link the `stowaway` command before anything is built;
// the real program is the bundle, dist/cli.js. It is imported directly rather than through
// dist/main.js (the entry for running it without this file, which does the same as the line below):
// one module file fewer to resolve, read and link on every run.
import module from "node:module";

// Node >= 22.1 keeps the compiled bundle in its on-disk compile cache, so later runs skip parsing it.
module.enableCompileCache?.();
try {
  await import("../dist/cli.js");
} catch (error) {
  if (error?.code === "ERR_MODULE_NOT_FOUND" && /dist[\\/](main|cli)\.js/.test(String(error.message))) {
    process.stderr.write("stowaway: error: the CLI is not built yet; run `npm run build` in the repository first\n");
    process.exitCode = 2;
  } else {
    throw error;
  }
}
