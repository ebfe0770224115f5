/**
 * `@stowaway/core/admission`: the Kubernetes admission webhook (HTTP layer and decision). A separate
 * entry point like `./inventory`, so a plain scan never loads the HTTPS server or a store driver.
 */
export * from "./admission/index.js";
export { openStore } from "./store/index.js";
