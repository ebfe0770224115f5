// prepack of every published workspace: npm packs the LICENSE found in the package's own folder,
// so the repository's Apache-2.0 text is copied there (temp file, then rename) before `npm pack`
// and `npm publish`. The copies are build output (.gitignore); the root LICENSE is the source.
import { copyFileSync, renameSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const source = fileURLToPath(new URL("../LICENSE", import.meta.url));
const target = path.join(process.cwd(), "LICENSE");
const temp = `${target}.${process.pid}.tmp`;
copyFileSync(source, temp);
renameSync(temp, target);
