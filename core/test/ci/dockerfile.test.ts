import { describe, expect, it } from "vitest";
import { finalFromLine } from "../../src/index.js";

describe("finalFromLine", () => {
  it("points at the last stage's FROM in a multi-stage Dockerfile, any case, CRLF or LF", () => {
    const text = [
      "# syntax=docker/dockerfile:1",
      "FROM golang:1.22 AS build",
      "RUN go build",
      "  from debian:12-slim",
      "COPY --from=build /app /app",
    ];
    expect(finalFromLine(text.join("\n"))).toBe(4);
    expect(finalFromLine(text.join("\r\n"))).toBe(4);
  });

  it("ignores FROM inside other instructions and comments, and says when there is none", () => {
    expect(finalFromLine("# FROM nothing\nCOPY --from=x / /\nRUN echo FROM\n")).toBeUndefined();
  });
});
