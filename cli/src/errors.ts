import { StowawayError } from "@stowaway/core";

const NODE_ERROR_HINTS: Record<string, string> = {
  ENOENT: "no such file or directory; check the path",
  EACCES: "permission denied; check the file permissions",
  EISDIR: "is a directory; give a file path",
  ENOTDIR: "a path component is not a directory",
  ENOSPC: "no space left on the device",
};

/** One line for the user: what failed and what to do. Stack traces only with --debug. */
export function describeError(error: unknown): string {
  if (error instanceof StowawayError) return error.message;
  const nodeError = error as NodeJS.ErrnoException;
  if (nodeError?.code && NODE_ERROR_HINTS[nodeError.code]) {
    return `${nodeError.path ?? "file"}: ${NODE_ERROR_HINTS[nodeError.code]}`;
  }
  const message = error instanceof Error ? error.message : String(error);
  return `${message.split("\n")[0]} (unexpected; rerun with --debug and report it)`;
}
