export { createRubyCataloger, isInstalledGemspec, parseInstalledGemspec } from "./cataloger.js";
export { parseGemspec, type GemspecFacts } from "./gemspec.js";
