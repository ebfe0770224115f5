#!/usr/bin/env node
import module from "node:module";
import { run } from "./program.js";

// Node >= 22.1: the core modules a command imports come from Node's on-disk compile cache, also when
// this file is run directly (`node cli/dist/main.js`) rather than through bin/stowaway.js, which
// enables it before loading this bundle.
// (@types/node for Node 20, the oldest supported, does not declare it.)
(module as { enableCompileCache?: () => unknown }).enableCompileCache?.();

/**
 * process.stdout or process.stderr, created on the first write: Node builds a stream (a socket for a
 * pipe, with net and the stream stack) the moment either is touched, and a command writing to a file
 * (`sbom -o`) with nothing to say on stderr needs neither. Only write and isTTY are used (Io); isTTY
 * asks node:tty, loaded then.
 */
function onFirstWrite(fd: 1 | 2, stream: () => NodeJS.WriteStream): NodeJS.WriteStream {
  return {
    get isTTY() {
      return process.getBuiltinModule("node:tty").isatty(fd);
    },
    write: (...args: Parameters<NodeJS.WriteStream["write"]>) => stream().write(...args),
  } as NodeJS.WriteStream;
}

process.exitCode = await run(process.argv.slice(2), {
  stdout: onFirstWrite(1, () => process.stdout),
  stderr: onFirstWrite(2, () => process.stderr),
  env: process.env,
});
