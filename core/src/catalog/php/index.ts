export { createPhpCataloger, isComposerInstalled, parseInstalledJson } from "./cataloger.js";
