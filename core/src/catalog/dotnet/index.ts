export { createDotnetCataloger, isDepsJson } from "./cataloger.js";
export { parseDepsJson } from "./deps-json.js";
