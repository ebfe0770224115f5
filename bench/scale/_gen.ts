import { ensureCorpus } from "../scale/corpus.js";
import { benchCacheDir } from "../nodes.js";
import path from "node:path";
const scale = Number(process.argv[2]);
const t = performance.now();
console.log(await ensureCorpus(path.join(benchCacheDir(), `scale-corpus-v2-${scale}`), scale), (performance.now()-t)/1000);
