#!/usr/bin/env node
import module from "node:module";
import { run } from "./program.js";

// Node >= 22.1: the core modules a command imports come from Node's on-disk compile cache, also when
// this file is run directly (`node cli/dist/main.js`) rather than through bin/stowaway.js, which
// enables it before loading this bundle.
// (@types/node for Node 20, the oldest supported, does not declare it.)
(module as { enableCompileCache?: () => unknown }).enableCompileCache?.();

process.exitCode = await run(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
});
