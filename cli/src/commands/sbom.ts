import { Option, type Command } from "commander";
import { addImageOptions, colorWanted, inventoryOptionsFrom, type ImageFlags } from "../image-options.js";
import type { Io } from "../io.js";

const SBOM_FORMATS = ["table", "json", "cyclonedx", "spdx"] as const;

/** `stowaway sbom TARGET`: the inventory alone, as a table, our JSON, CycloneDX or SPDX. */
export function registerSbomCommand(program: Command, io: Io): void {
  addImageOptions(
    program
      .command("sbom")
      .description("list the packages installed in an image (table, json, cyclonedx, spdx)")
      .addOption(new Option("-f, --format <format>", "output format").choices([...SBOM_FORMATS]).default("table")),
  ).action(async (target: string, flags: ImageFlags & { format: (typeof SBOM_FORMATS)[number] }) => {
    // The narrow entry: an inventory needs neither the database code nor the registry inventory.
    const { loadReportEncoder, runBytes, scan, writeFileAtomic } = await import("@stowaway/core/scan");
    const result = await scan(target, await inventoryOptionsFrom(flags, io));
    // As bytes: a warm rescan's JSON copies the cached package list from the cache file, never decoding it.
    const render = await loadReportEncoder(flags.format);
    const bytes = render(result, { color: colorWanted(flags, io) });
    if (flags.output) await writeFileAtomic(flags.output, bytes);
    else for (const run of bytes) io.stdout.write(runBytes(run));
  });
}
