import { neutralizeLog } from "@stowaway/core/log-safety";

const NODE_ERROR_HINTS: Record<string, string> = {
  ENOENT: "no such file or directory; check the path",
  EACCES: "permission denied; check the file permissions",
  EISDIR: "is a directory; give a file path",
  ENOTDIR: "a path component is not a directory",
  ENOSPC: "no space left on the device",
};

/**
 * One line for the user: what failed and what to do. Stack traces only with --debug. Messages may
 * quote image or advisory bytes, so the line always goes through the log neutraliser
 * (docs/log-safety.md): it stays one line, with no control or CI command reaching the log.
 */
export async function describeError(error: unknown): Promise<string> {
  return neutralizeLog(await describeRaw(error));
}

async function describeRaw(error: unknown): Promise<string> {
  // Core is loaded lazily (start-up); an error may come before it is, or from failing to load it.
  const core = await import("@stowaway/core").catch(() => undefined);
  if (core && error instanceof core.StowawayError) return error.message;
  const nodeError = error as NodeJS.ErrnoException;
  if (nodeError?.code && NODE_ERROR_HINTS[nodeError.code]) {
    return `${nodeError.path ?? "file"}: ${NODE_ERROR_HINTS[nodeError.code]}`;
  }
  const message = error instanceof Error ? error.message : String(error);
  return `${message.split("\n")[0]} (unexpected; rerun with --debug and report it)`;
}
