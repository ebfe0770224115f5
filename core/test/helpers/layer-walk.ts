import { Readable } from "node:stream";
import type { FileCataloger, OsDetector } from "../../src/catalog/types.js";
import { walkLayer, type LayerSnapshot } from "../../src/image/layer-walker.js";
import { buildLayer, type LayerEntry } from "./image-builder.js";

/** An OS detector that finds nothing, for tests about language packages alone. */
export const NO_OS: OsDetector = {
  name: "none",
  version: 1,
  wants: () => false,
  detect: () => ({ family: "unknown" }),
};

/** Builds each entry list into a layer and walks it with `cataloger` as the only analyzer. */
export async function walkWithFileCataloger(
  cataloger: FileCataloger,
  tempDir: string,
  ...layers: LayerEntry[][]
): Promise<LayerSnapshot[]> {
  const result: LayerSnapshot[] = [];
  for (const entries of layers) {
    const layer = await buildLayer(entries);
    result.push(
      await walkLayer(Readable.from([layer.blob]), layer.diffId, {
        what: "test",
        wants: () => false,
        fileCatalogers: [cataloger],
        tempDir,
      }),
    );
  }
  return result;
}
