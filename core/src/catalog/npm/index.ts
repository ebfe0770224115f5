export { createNpmCataloger, isBundledPath, isInstalledManifest } from "./cataloger.js";
export { parsePackageJson, type ManifestResult, type NpmManifest } from "./package-json.js";
