export * from "./errors.js";
export * from "./image/index.js";
export * from "./catalog/types.js";
