import type { LayerProgress } from "@stowaway/core";

/**
 * Layer progress on stderr, only for a person at a terminal: CI logs stay clean unless asked
 * for with --progress.
 */
export function layerProgressReporter(stderr: NodeJS.WritableStream & { isTTY?: boolean }, enabled: boolean) {
  if (!enabled) return undefined;
  let done = 0;
  return (event: LayerProgress): void => {
    if (event.kind !== "layer-done") return;
    done += 1;
    const line = `layers ${done}/${event.total}${event.cached ? " (cached)" : ""}`;
    stderr.write(stderr.isTTY ? `\r\u001b[2K${line}${done === event.total ? "\n" : ""}` : `${line}\n`);
  };
}
