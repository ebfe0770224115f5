export { createOsDetector } from "./detector.js";
export { osvEcosystem, type ReleaseFacts } from "./ecosystem.js";
export { parseKeyValue } from "./key-value.js";
export { DEBIAN_CODENAMES, UBUNTU_CODENAMES, isUbuntuLtsVersion } from "./releases.js";
export { endOfLife, eolDate } from "./eol.js";
