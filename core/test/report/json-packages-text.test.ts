/**
 * A package list kept as JSON text (a warm rescan's, catalog/packages-json.ts): the JSON report
 * written from the text is byte for byte the one written from the array, and any code that reads or
 * replaces `packages` gets an ordinary array while the text is forgotten.
 */
import { describe, expect, it } from "vitest";
import { packagesJson, untouchedPackagesJson, withPackagesJson } from "../../src/catalog/packages-json.js";
import type { Package } from "../../src/catalog/types.js";
import { renderJson, renderJsonBytes } from "../../src/report/json.js";
import { jsonLogSafeAlready } from "../../src/report/neutralize.js";
import type { ScanResult } from "../../src/result.js";
import { HOSTILE, unsafeLines } from "../helpers/log-safety.js";
import { judgedResult } from "./fixture.js";

const ALL_HOSTILE = Object.values(HOSTILE).join(" ");

/** The fixture with a hostile package and a layer whose history holds a secret. */
function hostileResult(): ScanResult {
  const base = judgedResult();
  const hostile: Package = {
    ...base.packages[0]!,
    name: `caf\u00e9 ${ALL_HOSTILE}`,
    locations: [`usr/lib/${HOSTILE.azure}`, "\u{1f600}\u202e"],
  };
  return {
    ...base,
    artifact: {
      ...base.artifact,
      layers: [
        {
          index: 0,
          digest: "sha256:aa",
          diffId: "sha256:bb",
          mediaType: "x",
          size: 1,
          createdBy: "ENV AWS_SECRET_ACCESS_KEY=abc123",
        },
      ],
    },
    packages: [...base.packages, hostile],
  };
}

/** `result` as a warm rescan gives it: its packages as stored text (read from bytes, or not), parsed by no one yet. */
function asStored(result: ScanResult, withBytes = false): ScanResult {
  const text = packagesJson(result.packages);
  return withPackagesJson({ ...result, packages: [] }, withBytes ? Buffer.from(text) : text);
}

describe("packages kept as JSON text", () => {
  it.each([false, true])(
    "render to the same JSON report as the array, hostile text and redactions included (bytes known: %s)",
    (withBytes) => {
      const plain = hostileResult();
      const stored = asStored(plain, withBytes);
      const json = renderJson(stored);
      expect(untouchedPackagesJson(stored)).toBeDefined();
      expect(json).toBe(renderJson(plain));
      expect(Buffer.from(renderJsonBytes(asStored(plain, withBytes))).toString()).toBe(json);
      expect(json).not.toContain("abc123");
      expect(unsafeLines(json)).toEqual([]);
      expect(JSON.parse(json).packages).toEqual(JSON.parse(JSON.stringify(plain.packages)));
    },
  );

  it("skip the log-safety scan only when the bytes prove it has nothing to do", () => {
    const base = judgedResult();
    const one = (text: string): ScanResult => ({ ...base, packages: [{ ...base.packages[0]!, name: text }] });
    // Each of these needs jsonLogSafe; only the plain (and the harmless non-ASCII) name may pass as is.
    for (const name of [
      "plain",
      "caf\u00e9 \u00c2",
      "\u007f",
      "\u0085",
      "\u2028",
      "\u202e",
      "\u2069",
      "a##vso[x]",
      "#",
    ]) {
      const plain = one(name);
      expect(renderJson(asStored(plain, true))).toBe(renderJson(plain));
      expect(Buffer.from(renderJsonBytes(asStored(plain, true))).toString()).toBe(renderJson(plain));
      const text = JSON.stringify(name);
      expect(jsonLogSafeAlready(Buffer.from(text))).toBe(["plain", "#", "caf\u00e9 \u00c2"].includes(name));
    }
  });

  it("render the same without optional members and with an empty list", () => {
    const bare: Partial<ScanResult> = { ...judgedResult() };
    delete bare.findings;
    delete bare.policy;
    delete bare.database;
    for (const result of [bare, { ...bare, packages: [] }] as ScanResult[]) {
      expect(renderJson(asStored(result))).toBe(renderJson(result));
    }
  });

  it("become an ordinary array, in place, once read, and the text is forgotten", () => {
    const plain = hostileResult();
    const stored = asStored(plain);
    expect(Object.keys(stored)).toEqual(Object.keys(plain));
    expect(stored.packages).toEqual(plain.packages);
    expect(untouchedPackagesJson(stored)).toBeUndefined();
    expect(Object.getOwnPropertyDescriptor(stored, "packages")).toMatchObject({ writable: true, enumerable: true });
    // A change made through the array now shows in the report: the stale text is not used.
    stored.packages.pop();
    expect(JSON.parse(renderJson(stored)).packages).toHaveLength(plain.packages.length - 1);
  });

  it("are forgotten when replaced, keeping the member's place", () => {
    const stored = asStored(hostileResult());
    stored.packages = [];
    expect(untouchedPackagesJson(stored)).toBeUndefined();
    expect(Object.keys(stored)).toEqual(Object.keys(hostileResult()));
    expect(JSON.parse(renderJson(stored)).packages).toEqual([]);
  });

  it("hand back the very array they were made from, without parsing", () => {
    const packages = hostileResult().packages;
    const target = withPackagesJson({ packages: [] as Package[] }, "not json", packages);
    expect(target.packages).toBe(packages);
  });
});
