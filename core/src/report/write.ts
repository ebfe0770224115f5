/** Reports are written through the one atomic writer every module shares (see ../write-atomic.ts). */
export { runBytes, writeFileAtomic, type ContentRun, type DeferredRun } from "../write-atomic.js";
