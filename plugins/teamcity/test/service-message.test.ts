import { describe, expect, it } from "vitest";
import { problemIdentity, suiteName } from "../src/identity.js";
import { redactor } from "../src/redact.js";
import { escapeValue, serviceMessage, singleValueMessage, truncate } from "../src/service-message.js";
import { unsafeLines } from "../../../core/test/helpers/log-safety.js";
import { parseServiceMessage } from "./service-message-parser.js";

const HOSTILE = [
  "it's",
  "a|b",
  "[x]",
  "line1\nline2\r\n",
  "ünïcödé ✓ 漢字",
  "emoji 😀",
  "##teamcity[buildProblem description='injected']",
  "|n is not a newline",
  "tab\there\u0000nul",
  "'] ##teamcity[buildStatus text='x'] ['",
];

describe("escapeValue", () => {
  it("escapes each special character exactly as TeamCity documents", () => {
    expect(escapeValue("|")).toBe("||");
    expect(escapeValue("'")).toBe("|'");
    expect(escapeValue("\n")).toBe("|n");
    // A CR from input is shown as \r by core's neutraliser before TeamCity's escaping (docs/log-safety.md).
    expect(escapeValue("\r")).toBe("\\r");
    expect(escapeValue("[")).toBe("|[");
    expect(escapeValue("]")).toBe("|]");
    expect(escapeValue("é")).toBe("|0x00E9");
    expect(escapeValue("✓")).toBe("|0x2713");
    expect(escapeValue("😀")).toBe("|0xD83D|0xDE00");
    expect(escapeValue("plain text: CVE-2023-43804 (urllib3)")).toBe("plain text: CVE-2023-43804 (urllib3)");
  });

  it("round-trips hostile strings through an independent parser; what TeamCity decodes is inert", () => {
    for (const value of HOSTILE) {
      const line = serviceMessage("testFailed", { name: value, message: value, details: value });
      expect(line).not.toMatch(/[\n\r]/);
      expect(line.slice(0, -1)).not.toMatch(/[^|]\]/);
      const parsed = parseServiceMessage(line);
      expect(parsed.name).toBe("testFailed");
      const decoded = parseServiceMessage(singleValueMessage("publishArtifacts", value)).value!;
      for (const shown of [...Object.values(parsed.attributes), decoded]) {
        // Text with no control (but line feeds) and no command marker comes back exactly as it was.
        // eslint-disable-next-line no-control-regex
        if (!/[\u0000-\u0009\u000b-\u001f]|##(?:teamcity)?\[/.test(value)) expect(shown).toBe(value);
        else expect(unsafeLines(shown)).toEqual([]);
      }
    }
    const injected = parseServiceMessage(serviceMessage("message", { text: HOSTILE[9]! })).attributes.text;
    expect(injected).toBe("'] #\\#teamcity[buildStatus text='x'] ['");
    expect(parseServiceMessage(serviceMessage("message", { text: HOSTILE[8]! })).attributes.text).toBe(
      "tab\\there\\x00nul",
    );
  });

  it("rejects names that are not Java identifiers and drops undefined attributes", () => {
    expect(() => serviceMessage("bad name", {})).toThrow();
    expect(() => serviceMessage("message", { "te xt": "x" })).toThrow();
    expect(serviceMessage("message", { text: "x", status: undefined })).toBe("##teamcity[message text='x']");
  });
});

describe("truncate", () => {
  it("bounds the length without splitting a surrogate pair", () => {
    const text = "😀".repeat(3_000);
    const cut = truncate(text, 4_000);
    expect(cut.length).toBeLessThanOrEqual(4_000);
    expect(cut).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/);
    expect(truncate("short", 4_000)).toBe("short");
  });
});

describe("problemIdentity", () => {
  it("is a Java identifier of at most 60 characters derived from the rule alone", () => {
    expect(problemIdentity("gate.failOn")).toBe("stowaway_gate_failOn");
    const long = "image.requiredLabels.org.opencontainers.image.source.and.more.and.more";
    const other = `${long}.other`;
    for (const rule of ["gate.failOn", "gate.deny", long, other]) {
      expect(problemIdentity(rule)).toMatch(/^[A-Za-z_][A-Za-z0-9_]{0,59}$/);
      expect(problemIdentity(rule)).toBe(problemIdentity(rule));
    }
    expect(problemIdentity(long)).not.toBe(problemIdentity(other));
  });
});

describe("suiteName", () => {
  it("drops tags and digests so history survives per-build tags", () => {
    expect(suiteName("ghcr.io/acme/shop:1.2.3")).toBe("stowaway ghcr.io/acme/shop");
    expect(suiteName("localhost:5000/shop@sha256:abc")).toBe("stowaway localhost:5000/shop");
    expect(suiteName("localhost:5000/shop")).toBe("stowaway localhost:5000/shop");
    expect(suiteName("oci-archive:images/app.tar")).toBe("stowaway oci-archive:images/app.tar");
    expect(suiteName("docker-archive:app.tar")).toBe("stowaway docker-archive:app.tar");
  });
});

describe("redactor", () => {
  it("masks raw and escaped forms of each secret", () => {
    const secret = "pa'ss|wörd";
    const redact = redactor([secret, undefined, ""]);
    const line = serviceMessage("message", { text: `auth with ${secret} failed` });
    expect(redact(line)).toBe("##teamcity[message text='auth with *** failed']");
    expect(redact(`raw ${secret}`)).toBe("raw ***");
  });
});
