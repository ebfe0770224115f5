export { createDotnetCataloger, isDepsJson, parseDepsJson } from "./cataloger.js";
