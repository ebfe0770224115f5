export * from "./types.js";
export * from "./digest.js";
