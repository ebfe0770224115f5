import path from "node:path";
import { describe, expect, it } from "vitest";
import { parseCommonInputs, resolveDefaults, scanRequestFromInputs } from "../../src/index.js";

describe("resolveDefaults: every default of a run in one place", () => {
  it("takes the cache dir and database from the request's environment, not the process's", () => {
    const env = { XDG_CACHE_HOME: "/runner/cache", HOME: "/home/nobody" };
    const defaults = resolveDefaults({ env, now: new Date("2026-01-02T03:04:05Z") });
    expect(defaults.cacheDir).toBe(path.join("/runner/cache", "stowaway"));
    expect(defaults.db).toBe(path.join("/runner/cache", "stowaway", "db"));
    expect(defaults.now.toISOString()).toBe("2026-01-02T03:04:05.000Z");
    expect(defaults.failOn).toBeUndefined();
    expect(resolveDefaults({ env: { ...env, STOWAWAY_DB_DIR: "/dbs/shared" } }).db).toBe("/dbs/shared");
    expect(resolveDefaults({ env, db: "/mine" }).db).toBe("/mine");
    // --no-cache stays off.
    expect(resolveDefaults({ env, cacheDir: false }).cacheDir).toBe(false);
  });

  it("applies a front end's default gate only when neither fail-on nor a policy is given", () => {
    expect(resolveDefaults({ defaultFailOn: "critical" }).failOn).toBe("critical");
    expect(resolveDefaults({ defaultFailOn: "critical", failOn: "none" }).failOn).toBe("none");
    expect(resolveDefaults({ defaultFailOn: "critical", policy: "strict.yaml" }).failOn).toBeUndefined();
  });

  it("maps the CI inputs to the one request shape, leaving the defaults to core", () => {
    const values: Record<string, string> = {
      image: "registry.example.com/app:1",
      "fail-on": "high",
      username: "bot",
      password: "s3cret",
      platform: "linux/arm64",
      "ignore-files": ".trivyignore",
    };
    const inputs = parseCommonInputs((name) => values[name], { outputDir: "out" });
    const request = scanRequestFromInputs(inputs, {});
    expect(request).toMatchObject({
      target: "registry.example.com/app:1",
      failOn: "high",
      defaultFailOn: "critical",
      ignoreFiles: [".trivyignore"],
      access: { platform: { os: "linux", architecture: "arm64" }, registry: { username: "bot", password: "s3cret" } },
    });
    expect(request.cacheDir).toBeUndefined();
    expect(request.now).toBeUndefined();
  });
});
