// The CLI bundle's entry (dist/cli.js). dist/main.js, written by scripts/build.mjs, enables Node's
// compile cache (Node >= 22.1) before importing it, so this bundle and the core modules a command
// imports come from the cache, also when dist/main.js is run directly rather than through bin/stowaway.js.
import { fstatSync } from "node:fs";
import { run } from "./program.js";

/**
 * Whether `fd` is a terminal, answered without node:tty (which loads net and the stream stack) when
 * it cannot be one: only a character device can, and on Linux never one of the memory devices
 * (major 1: /dev/null, /dev/zero ...), where CI jobs and benchmarks send output.
 */
function isTerminal(fd: 1 | 2): boolean {
  try {
    const stat = fstatSync(fd);
    if (!stat.isCharacterDevice()) return false;
    if (process.platform === "linux" && ((stat.rdev >> 8) & 0xfff) === 1) return false;
  } catch {
    return false;
  }
  return process.getBuiltinModule("node:tty").isatty(fd);
}

/**
 * process.stdout or process.stderr, created on the first write: Node builds a stream (a socket for a
 * pipe, with net and the stream stack) the moment either is touched, and a command writing to a file
 * (`sbom -o`) with nothing to say on stderr needs neither. Only write and isTTY are used (Io).
 */
function onFirstWrite(fd: 1 | 2, stream: () => NodeJS.WriteStream): NodeJS.WriteStream {
  return {
    get isTTY() {
      return isTerminal(fd);
    },
    write: (...args: Parameters<NodeJS.WriteStream["write"]>) => stream().write(...args),
  } as NodeJS.WriteStream;
}

process.exitCode = await run(process.argv.slice(2), {
  stdout: onFirstWrite(1, () => process.stdout),
  stderr: onFirstWrite(2, () => process.stderr),
  env: process.env,
});
