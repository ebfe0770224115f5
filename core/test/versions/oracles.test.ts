import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { compareVersions, isValidVersion } from "../../src/versions/index.js";
import { MAVEN_EXCEPTIONS, PYPI_INVALID } from "./expectations.js";

// Cross-checks against each ecosystem's own tool on generated pairs. Expected values come only
// from the tool. Every oracle runs as one process for all pairs so the suite stays fast.
// CI needs: apt-get install -y dpkg python3-rpm python3-packaging maven (maven pulls in Java).

const PAIRS = 400;
const SYSTEM_PYTHON = "/usr/bin/python3"; // python3-rpm / python3-packaging install here, not into pyenv

function mulberry32(seed: number): () => number {
  let t = seed >>> 0;
  return () => {
    t = (t + 0x6d2b79f5) >>> 0;
    let r = Math.imul(t ^ (t >>> 15), 1 | t);
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T>(rand: () => number, xs: readonly T[]): T {
  return xs[Math.floor(rand() * xs.length)]!;
}

/** A version starting with a digit, then up to `max` tokens; small alphabets make near-ties common. */
function tokens(rand: () => number, first: readonly string[], rest: readonly string[], max: number): string {
  let s = pick(rand, first);
  const n = Math.floor(rand() * (max + 1));
  for (let i = 0; i < n; i++) s += pick(rand, rest);
  return s;
}

/** Half the pairs are a version and a one-token edit of it, where ordering bugs hide. */
function pairs<T>(seed: number, make: (rand: () => number) => T, mutate: (rand: () => number, v: T) => T): [T, T][] {
  const rand = mulberry32(seed);
  const out: [T, T][] = [];
  for (let i = 0; i < PAIRS; i++) {
    const a = make(rand);
    out.push([a, rand() < 0.5 ? mutate(rand, a) : make(rand)]);
  }
  return out;
}

function run(cmd: string, args: string[], input?: string): { ok: boolean; stdout: string; why: string } {
  const r = spawnSync(cmd, args, { input, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (r.error) return { ok: false, stdout: "", why: r.error.message };
  return { ok: r.status === 0, stdout: r.stdout, why: r.stderr.trim() };
}

function available(cmd: string, args: string[], pkg: string): string | undefined {
  const r = run(cmd, args);
  return r.ok
    ? undefined
    : `skipped: ${cmd} ${args.join(" ")} failed (${r.why.split("\n")[0]}); apt-get install -y ${pkg}`;
}

function describeOracle(name: string, missing: string | undefined, body: () => void): void {
  if (missing === undefined) describe(name, body);
  else describe.skip(`${name} (${missing})`, body);
}

// ---------------------------------------------------------------------------------------------
const dpkgMissing = available("dpkg", ["--version"], "dpkg");
describeOracle("dpkg --compare-versions oracle", dpkgMissing, () => {
  const UP = ["0", "1", "2", "9", "10", "01", ".", ".", "+", "~", "~", "a", "b", "z", "A", "rc", "+dfsg", "~rc1", "-"];
  const REV = ["1", "0", "2", "1ubuntu1", "2+deb12u1", "1~bpo11+1", "0.1", "10", "1.1", "a", "~", "+b1"];
  const make = (rand: () => number) => {
    const epoch = rand() < 0.2 ? `${pick(rand, ["0", "1", "2", "00"])}:` : "";
    const upstream = tokens(
      rand,
      ["0", "1", "2", "10"],
      UP.filter((t) => t !== "-"),
      5,
    );
    const revision = rand() < 0.6 ? `-${tokens(rand, REV, REV, 2)}` : "";
    return epoch + upstream + revision;
  };
  const mutate = (rand: () => number, v: string) => {
    const i = Math.floor(rand() * (v.length + 1));
    const t = pick(rand, ["~", "+", ".", "0", "1", "a", ""]);
    const out = v.slice(0, i) + t + v.slice(i + (rand() < 0.5 ? 1 : 0));
    return /^[0-9]/.test(out.replace(/^[0-9]+:/, "")) ? out : v;
  };
  const cases = pairs(0x5eed01, make, mutate);

  it(`agrees on ${PAIRS} generated pairs and on validity`, () => {
    const versions = [...new Set(cases.flat())];
    // One shell runs every dpkg invocation; output: per version its validity, per pair its order.
    const script = `
      while IFS=' ' read -r kind a b; do
        if [ "$kind" = v ]; then
          if dpkg --validate-version -- "$a" 2>/dev/null; then echo ok; else echo bad; fi
        elif dpkg --compare-versions -- "$a" lt "$b" 2>/dev/null; then echo -1
        elif dpkg --compare-versions -- "$a" eq "$b" 2>/dev/null; then echo 0
        else echo 1; fi
      done`;
    const input = [...versions.map((v) => `v ${v} -`), ...cases.map(([a, b]) => `c ${a} ${b}`)].join("\n") + "\n";
    const out = run("sh", ["-c", script], input);
    expect(out.ok, out.why).toBe(true);
    const lines = out.stdout.trim().split("\n");
    expect(lines).toHaveLength(versions.length + cases.length);
    const valid = new Map(versions.map((v, i) => [v, lines[i] === "ok"]));
    const failures: string[] = [];
    for (const v of versions) {
      if (isValidVersion("Debian", v) !== valid.get(v)) failures.push(`validity of ${v}: dpkg says ${valid.get(v)}`);
    }
    let compared = 0;
    cases.forEach(([a, b], k) => {
      if (!valid.get(a) || !valid.get(b)) return;
      compared++;
      const want = Number(lines[versions.length + k]);
      if (compareVersions("Debian", a, b) !== want) failures.push(`${a} vs ${b}: dpkg ${want}`);
    });
    expect(failures).toEqual([]);
    expect(compared).toBeGreaterThan(PAIRS / 2);
  });
});

// ---------------------------------------------------------------------------------------------
const rpmMissing = available(SYSTEM_PYTHON, ["-c", "import rpm"], "python3-rpm");
describeOracle("python3-rpm labelCompare oracle", rpmMissing, () => {
  type Evr = [string | null, string, string | null];
  const V = ["0", "1", "2", "10", "01", ".", ".", "a", "b", "rc", "~", "^", "_", "+", "git", "Z"];
  const R = ["1", "2", "0", "1.el9", "2.fc40", "0.1.rc1", "1~beta", "1^git", "3.el9_2", ""];
  const make = (rand: () => number): Evr => [
    rand() < 0.3 ? pick(rand, ["0", "1", "2", "10"]) : null,
    tokens(rand, ["0", "1", "2", "10"], V, 5),
    rand() < 0.7 ? pick(rand, R) : null,
  ];
  const mutate = (rand: () => number, [e, v, r]: Evr): Evr => {
    const which = Math.floor(rand() * 3);
    if (which === 0) return [e === null ? "0" : null, v, r];
    if (which === 1) return [e, v + pick(rand, V), r];
    return [e, v, r === null ? pick(rand, R) : null];
  };
  const text = ([e, v, r]: Evr) => `${e === null ? "" : `${e}:`}${v}${r === null ? "" : `-${r}`}`;
  const cases = pairs(0x5eed02, make, mutate);

  it(`agrees on ${PAIRS} generated EVR pairs (missing epoch = 0, missing release sorts first)`, () => {
    const py = "import json,sys,rpm\nfor a,b in json.load(sys.stdin): print(rpm.labelCompare(tuple(a),tuple(b)))";
    const out = run(SYSTEM_PYTHON, ["-c", py], JSON.stringify(cases));
    expect(out.ok, out.why).toBe(true);
    const want = out.stdout.trim().split("\n").map(Number);
    const failures = cases
      .map(([a, b], k) => ({ a: text(a), b: text(b), want: want[k]! }))
      .filter(({ a, b, want }) => compareVersions("Rocky Linux:9", a, b) !== want)
      .map(({ a, b, want }) => `${a} vs ${b}: rpm ${want}`);
    expect(failures).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
const packagingMissing = available(SYSTEM_PYTHON, ["-c", "import packaging.version"], "python3-packaging");
describeOracle("python3-packaging Version oracle", packagingMissing, () => {
  const PRE = ["", "", "a1", "b2", "rc1", "c1", "alpha1", "beta", "pre3", "-rc.2", ".a0", "RC1"];
  const POST = ["", "", ".post1", "-1", "post2", ".post", "_r3", "rev4", ".post0", "_post1"];
  const DEV = ["", "", ".dev0", ".dev", "dev3", "-dev1"];
  const LOCAL = ["", "", "", "+local", "+1.abc", "+ubuntu.1", "+0"];
  const BAD = [...Array<string>(20).fill(""), "-foo", "..1", "_", "+", "x"];
  const make = (rand: () => number) =>
    (rand() < 0.1 ? "1!" : "") +
    tokens(rand, ["0", "1", "2", "v1", "01"], [".0", ".1", ".2", ".10", ".00"], 3) +
    pick(rand, PRE) +
    pick(rand, POST) +
    pick(rand, DEV) +
    pick(rand, LOCAL) +
    pick(rand, BAD);
  const mutate = (rand: () => number, v: string) => v + pick(rand, [".0", "a1", ".post1", ".dev0", "+x", "0", ""]);
  const cases = pairs(0x5eed03, make, mutate);

  it(`agrees on ${PAIRS} generated pairs, on their validity, and that the corpus strings we refuse are invalid`, () => {
    const versions = [...new Set([...cases.flat(), ...PYPI_INVALID])];
    const py = [
      "import json,sys",
      "from packaging.version import Version, InvalidVersion",
      "d=json.load(sys.stdin)",
      "def p(v):",
      "  try: return Version(v)",
      "  except InvalidVersion: return None",
      "print(json.dumps({'valid':[p(v) is not None for v in d['versions']],",
      "  'cmp':[None if p(a) is None or p(b) is None else (p(a)>p(b))-(p(a)<p(b)) for a,b in d['pairs']]}))",
    ].join("\n");
    const out = run(SYSTEM_PYTHON, ["-c", py], JSON.stringify({ versions, pairs: cases }));
    expect(out.ok, out.why).toBe(true);
    const res = JSON.parse(out.stdout) as { valid: boolean[]; cmp: (number | null)[] };
    const failures: string[] = [];
    versions.forEach((v, i) => {
      if (isValidVersion("PyPI", v) !== res.valid[i])
        failures.push(`validity of ${JSON.stringify(v)}: packaging ${res.valid[i]}`);
    });
    let compared = 0;
    cases.forEach(([a, b], k) => {
      const want = res.cmp[k];
      if (want === null || want === undefined) return;
      compared++;
      if (compareVersions("PyPI", a, b) !== want) failures.push(`${a} vs ${b}: packaging ${want}`);
    });
    expect(failures).toEqual([]);
    expect(compared).toBeGreaterThan(PAIRS / 2);
  });
});

// ---------------------------------------------------------------------------------------------
const MAVEN_JAR = "/usr/share/maven/lib/maven-artifact-3.x.jar";
const CV = "org.apache.maven.artifact.versioning.ComparableVersion";
const mavenMissing = available("java", ["-cp", MAVEN_JAR, CV, "1"], "maven");

/** ComparableVersion's main compares each argument with the next; we pass pairs and read every other verdict. */
function mavenOracle(list: [string, string][]): number[] {
  const out = run("java", ["-cp", MAVEN_JAR, CV, ...list.flat()]);
  if (!out.ok) throw new Error(`ComparableVersion failed: ${out.why}`);
  const verdicts = [...out.stdout.matchAll(/^ {3}(\S+) (<|>|==) (\S+)$/gm)];
  return list.map(([a, b], k) => {
    const m = verdicts[2 * k];
    if (!m || m[1] !== a || m[3] !== b) throw new Error(`unexpected ComparableVersion output for ${a} ${b}`);
    return m[2] === "<" ? -1 : m[2] === ">" ? 1 : 0;
  });
}

describeOracle(`Maven ComparableVersion oracle (${MAVEN_JAR})`, mavenMissing, () => {
  const T = [
    "1",
    "0",
    "2",
    "10",
    "01",
    ".",
    ".",
    "-",
    "-",
    "alpha",
    "a",
    "b",
    "beta",
    "m",
    "milestone",
    "rc",
    "cr",
    "RC",
  ];
  const T2 = ["snapshot", "SNAPSHOT", "ga", "final", "Final", "release", "sp", "foo", "_x", "sec"];
  const make = (rand: () => number) => tokens(rand, ["0", "1", "2", "10"], [...T, ...T2], 6);
  const mutate = (rand: () => number, v: string) => v + pick(rand, [...T, ...T2]);
  const cases = pairs(0x5eed04, make, mutate);

  it(`agrees on ${PAIRS} generated pairs`, () => {
    const want = mavenOracle(cases);
    const failures = cases
      .filter(([a, b], k) => compareVersions("Maven", a, b) !== want[k])
      .map(([a, b], k) => `${a} vs ${b}: maven ${want[k]}`);
    expect(failures).toEqual([]);
  });

  it("confirms every expected exception to the osv-scalibr Maven corpus", () => {
    const want = mavenOracle(MAVEN_EXCEPTIONS.map((e) => [e.a, e.b]));
    expect(want).toEqual(MAVEN_EXCEPTIONS.map((e) => (e.maven === ">" ? 1 : -1)));
  });
});
