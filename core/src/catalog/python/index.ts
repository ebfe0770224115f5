export { createPythonCataloger, isInstalledPythonMetadata, parsePythonMetadata } from "./cataloger.js";
export { licensesOf, normalizePythonName, parseMetadataHeaders, type MetadataHeaders } from "./metadata.js";
export { isZippedEgg } from "./egg.js";
