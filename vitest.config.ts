import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: {
    // Tests exercise the TypeScript sources directly; the built dist is exercised by CLI end-to-end tests.
    alias: [
      { find: /^@stowaway\/core$/, replacement: fileURLToPath(new URL("./core/src/index.ts", import.meta.url)) },
      {
        find: /^@stowaway\/core\/registry$/,
        replacement: fileURLToPath(new URL("./core/src/registry.ts", import.meta.url)),
      },
      {
        find: /^@stowaway\/core\/inventory$/,
        replacement: fileURLToPath(new URL("./core/src/registry-inventory.ts", import.meta.url)),
      },
      {
        find: /^@stowaway\/core\/service$/,
        replacement: fileURLToPath(new URL("./core/src/service/index.ts", import.meta.url)),
      },
    ],
  },
  test: {
    include: ["core/test/**/*.test.ts", "cli/test/**/*.test.ts", "plugins/*/test/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: "forks",
    reporters: ["default", "./scripts/vitest-summary-reporter.ts"],
  },
});
