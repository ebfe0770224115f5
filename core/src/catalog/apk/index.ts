export { createApkCataloger } from "./cataloger.js";
export { parseApkInstalled, type ApkDatabase, type ApkEntry, type ApkProblem } from "./installed.js";
