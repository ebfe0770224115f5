export { createGoBinaryCataloger } from "./cataloger.js";
export { readGoBuildInfo, type RawBuildInfo } from "./buildinfo.js";
export { parseModInfo, stdlibVersion, type GoModInfo, type GoModule } from "./modinfo.js";
export { ldflagsVersion, splitFlags, stringAssignments, unquoteSetting, type LdflagsVersion } from "./ldflags.js";
export { readOnlyDataVersions, soleReadOnlyDataVersion } from "./contents.js";
