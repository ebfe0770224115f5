/**
 * Reads a Dockerfile the way the builder does (parser directives, comments, `\` continuations,
 * stages) and replays one stage's ARG/ENV/COPY/RUN steps as plain shell on this machine, so the image
 * recipe is tested where no Docker engine runs. Only the forms docker/Dockerfile uses are supported;
 * anything else throws, so the recipe cannot quietly outgrow its test.
 */
import { spawn } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";

export interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

export interface Stage {
  from: string;
  name?: string;
  instructions: Instruction[];
}

export interface ParsedDockerfile {
  /** ARGs before the first FROM (usable in FROM lines), name -> default. */
  globalArgs: Map<string, string | undefined>;
  stages: Stage[];
}

export function parseDockerfile(file: string): ParsedDockerfile {
  const lines = readFileSync(file, "utf8").split("\n");
  const instructions: Instruction[] = [];
  let current: Instruction | undefined;
  lines.forEach((raw, index) => {
    const trimmed = raw.trim();
    if (trimmed.startsWith("#") || (!current && trimmed === "")) return;
    const continued = trimmed.endsWith("\\");
    const text = continued ? trimmed.slice(0, -1).trimEnd() : trimmed;
    if (current) {
      current.args += ` ${text}`;
    } else {
      const match = /^([A-Za-z]+)\s+(.*)$/.exec(text);
      if (!match) throw new Error(`${file}:${index + 1}: not an instruction: ${trimmed}`);
      current = { keyword: match[1]!.toUpperCase(), args: match[2]!, line: index + 1 };
    }
    if (!continued) {
      current.args = current.args.trim();
      instructions.push(current);
      current = undefined;
    }
  });
  const globalArgs = new Map<string, string | undefined>();
  const stages: Stage[] = [];
  for (const instruction of instructions) {
    if (instruction.keyword === "FROM") {
      const match = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(instruction.args);
      if (!match) throw new Error(`${file}:${instruction.line}: unsupported FROM ${instruction.args}`);
      stages.push({ from: match[1]!, ...(match[2] ? { name: match[2] } : {}), instructions: [] });
    } else if (stages.length === 0) {
      if (instruction.keyword !== "ARG") throw new Error(`${file}:${instruction.line}: only ARG may precede FROM`);
      const [name, value] = splitAssignment(instruction.args);
      globalArgs.set(name, value);
    } else {
      stages.at(-1)!.instructions.push(instruction);
    }
  }
  return { globalArgs, stages };
}

/** `NAME=value`, `NAME="quoted value"` or a bare `NAME`. */
export function splitAssignment(args: string): [string, string | undefined] {
  const match = /^([A-Za-z_][A-Za-z0-9_]*)(?:=(.*))?$/.exec(args.trim());
  if (!match) throw new Error(`unsupported assignment: ${args}`);
  const value = match[2];
  if (value === undefined) return [match[1]!, undefined];
  return [match[1]!, /^".*"$/.test(value) ? value.slice(1, -1) : value];
}

/** The builder's `$NAME` / `${NAME}` substitution in ENV, COPY and LABEL values. */
export function substitute(text: string, env: Record<string, string | undefined>): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (_whole, braced, bare) => {
    return env[(braced ?? bare) as string] ?? "";
  });
}

export interface ReplayOptions {
  /** The build context (the repository root for `docker build -f docker/Dockerfile .`). */
  context: string;
  /** Environment the RUN steps start from: PATH, HOME, npm settings... */
  env: NodeJS.ProcessEnv;
  /** `--build-arg` values. */
  buildArgs?: Record<string, string>;
  /** ENV values to force (e.g. STOWAWAY_HOME in a temp dir instead of /opt). */
  overrides?: Record<string, string>;
  /** RUN steps to leave out (they change the machine: apt-get); each is returned as skipped. */
  skipRun?: (command: string) => boolean;
}

export interface ReplayResult {
  env: NodeJS.ProcessEnv;
  skipped: string[];
}

/** Runs one RUN step with /bin/sh -c, asynchronously (a registry in this process may have to answer it). */
function shell(command: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("/bin/sh", ["-c", command], { env });
    const output: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => output.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => output.push(chunk));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, output: Buffer.concat(output).toString("utf8") }));
  });
}

/** Replays a stage's steps; throws with the step's line and output when a RUN step fails. */
export async function replayStage(file: string, stage: Stage, options: ReplayOptions): Promise<ReplayResult> {
  const env: NodeJS.ProcessEnv = { ...options.env, ...options.overrides };
  const skipped: string[] = [];
  for (const { keyword, args, line } of stage.instructions) {
    switch (keyword) {
      case "ARG": {
        const [name, fallback] = splitAssignment(args);
        env[name] = options.buildArgs?.[name] ?? (fallback === undefined ? undefined : substitute(fallback, env));
        break;
      }
      case "ENV": {
        const [name, value] = splitAssignment(args);
        env[name] = options.overrides?.[name] ?? substitute(value ?? "", env);
        break;
      }
      case "COPY": {
        const parts = substitute(args, env).split(/\s+/);
        if (parts.length !== 2 || parts.some((part) => part.startsWith("--"))) {
          throw new Error(`${file}:${line}: unsupported COPY ${args}`);
        }
        const [source, destination] = parts as [string, string];
        const from = path.join(options.context, source);
        if (!existsSync(from)) throw new Error(`${file}:${line}: COPY source ${source} is not in the build context`);
        if (statSync(from).isDirectory()) {
          mkdirSync(destination, { recursive: true });
          cpSync(from, destination, { recursive: true });
        } else {
          mkdirSync(path.dirname(destination), { recursive: true });
          cpSync(from, destination);
        }
        break;
      }
      case "RUN": {
        if (options.skipRun?.(args)) {
          skipped.push(args);
          break;
        }
        const run = await shell(args, env);
        if (run.code !== 0) throw new Error(`${file}:${line}: RUN failed (${run.code}):\n${run.output}`);
        break;
      }
      case "LABEL":
      case "USER":
      case "ENTRYPOINT":
      case "CMD":
        break;
      default:
        throw new Error(`${file}:${line}: ${keyword} is not replayed by this test; extend cli/test/dockerfile.ts`);
    }
  }
  return { env, skipped };
}
