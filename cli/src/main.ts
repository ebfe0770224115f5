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
    write: (...args: Parameters<NodeJS.WriteStream["write"]>) => {
      written.add(stream());
      return stream().write(...args);
    },
  } as NodeJS.WriteStream;
}

/** The standard streams the command wrote to. */
const written = new Set<NodeJS.WriteStream>();

/**
 * What may still be active when the command is done for the process to end at once: a file handle's
 * close in flight (the kernel closes it at exit anyway) and the standard streams' own handles. A write
 * still in flight (to a pipe whose reader is slower), a server, a timer, a worker, a socket is not:
 * the process then ends as Node ends it, when nothing is left (`serve`, `admission`).
 */
const DONE_WITH = new Set(["CloseReq", "TTYWrap", "PipeWrap"]);

const exitCode = await run(process.argv.slice(2), {
  stdout: onFirstWrite(1, () => process.stdout),
  stderr: onFirstWrite(2, () => process.stderr),
  env: process.env,
});
process.exitCode = exitCode;
// The streams' queued writes handed on first.
await Promise.all([...written].map((stream) => new Promise((resolve) => stream.write("", resolve))));
// Then the process ends without Node's tear-down of the heap and of every handle, which a warm
// rescan would otherwise wait for (several milliseconds, more on a loaded machine), unless something
// is still going on.
if (process.getActiveResourcesInfo().every((kind) => DONE_WITH.has(kind))) process.exit(exitCode);
