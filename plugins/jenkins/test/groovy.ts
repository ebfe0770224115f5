import { spawn, spawnSync } from "node:child_process";
import { existsSync, realpathSync } from "node:fs";
import path from "node:path";

/**
 * Debian's groovy launcher looks for /usr/lib/jvm/default-java unless JAVA_HOME is set; derive it
 * from the java on PATH so the tests run on a stock agent with only `apt-get install groovy`.
 */
export function groovyEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  if (env.JAVA_HOME && existsSync(path.join(env.JAVA_HOME, "bin/java"))) return env;
  const which = spawnSync("sh", ["-c", "command -v java"], { encoding: "utf8" });
  const java = which.stdout.trim();
  if (java) env.JAVA_HOME = path.dirname(path.dirname(realpathSync(java)));
  return env;
}

export const HAS_GROOVY = spawnSync("groovy", ["--version"], { env: groovyEnv(), encoding: "utf8" }).status === 0;

export function run(
  command: string,
  args: string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv },
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? groovyEnv() });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    child.on("error", reject);
    child.on("close", (status) => resolve({ status, stdout, stderr }));
  });
}
