export { createDpkgCataloger } from "./cataloger.js";
export { parseControlFile, type ControlFile, type ControlProblem, type ControlStanza } from "./control.js";
export { parseListFile, parseMd5sums } from "./owned-files.js";
export { isInstalledStatus, parseSource, toDpkgEntry, type DpkgEntry } from "./status.js";
export { thirdPartyVendor } from "./third-party.js";
