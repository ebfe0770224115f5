export * from "./errors.js";
export * from "./version.js";
export * from "./result.js";
export * from "./scan.js";
export * from "./image/index.js";
export * from "./catalog/index.js";
export * from "./report/index.js";
export * from "./versions/index.js";
