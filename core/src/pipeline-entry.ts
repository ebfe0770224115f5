/**
 * `@stowaway/core/pipeline`: what `stowaway scan` and `stowaway ci` run (inventory, matching, the gate,
 * every report, the CI outcome), without the rest of core (the database builder, the registry
 * inventory, the service). Bundled with `@stowaway/core/scan` into a few modules (scripts/bundle-scan.mjs),
 * so these commands no longer resolve and compile core's ~300 files on every run (README "Caching and
 * speed"); matching, the policy and each renderer still load on demand.
 */
export { runPipeline } from "./ci/pipeline.js";
export { runCi } from "./ci/run.js";
export { DEFAULT_CI_REPORTS, envInputs, maskSecrets, parseCommonInputs } from "./ci/inputs.js";
export { OUTCOME_FILE, OUTCOME_SCHEMA_VERSION, outcomeExitCode, verdictLine } from "./ci/outcome.js";
export { isReportFormat } from "./report/format-names.js";
export { loadReportEncoder, loadReportRenderer, type ReportRenderer } from "./report/lazy-render.js";
export { parseSeveritySourceOrder } from "./match/severity.js";
export { runBytes, writeFileAtomic, type ContentRun, type DeferredRun } from "./write-atomic.js";
export { StowawayError } from "./errors.js";
