import { describe, expect, it } from "vitest";
import { boundedWarnings } from "../../src/admission/decide.js";

// Kubernetes, "Admission webhook warnings": a warning past 256 characters may be truncated by the
// API server, and warnings past 4096 characters in all are dropped.
describe("AdmissionReview warnings within the API server's limits", () => {
  it("cuts each line to 256 characters and keeps the total within 4096, saying how many were left out", () => {
    const lines = Array.from({ length: 40 }, (_, i) => `finding ${i} ${"x".repeat(300)}`);
    const warnings = boundedWarnings(lines);
    for (const warning of warnings) expect(warning.length).toBeLessThanOrEqual(256);
    expect(warnings.join("").length).toBeLessThanOrEqual(4096);
    expect(warnings[0]).toMatch(/^Stowaway: finding 0 x+…$/);
    const last = warnings.at(-1)!;
    const shown = warnings.length - 1;
    expect(last).toBe(`Stowaway: ${40 - shown} more warnings left out (AdmissionReview limit)`);
  });

  it("keeps short lines whole and neutralises log commands in them", () => {
    const [short, escaped] = boundedWarnings(["a", "\u001b[31mred\r##vso[task.complete]x"]);
    expect(short).toBe("Stowaway: a");
    for (const raw of ["\u001b", "\r", "##vso["]) expect(escaped).not.toContain(raw);
  });
});
