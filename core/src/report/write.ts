/** Reports are written through the one atomic writer every module shares (see ../write-atomic.ts). */
export { writeFileAtomic } from "../write-atomic.js";
