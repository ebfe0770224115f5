import type { ServerResponse } from "node:http";

/** One RFC 9457 problem detail; `errors` lists field problems of a rejected body. */
export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  errors?: { pointer: string; detail: string }[];
}

const TITLES: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  406: "Not Acceptable",
  409: "Conflict",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  422: "Unprocessable Content",
  429: "Too Many Requests",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

/** A refused request: thrown by handlers, rendered once by the server as application/problem+json. */
export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
    readonly extra: { errors?: ProblemDetails["errors"]; headers?: Record<string, string> } = {},
  ) {
    super(detail);
  }
}

export function problemBody(status: number, detail: string, instance?: string): ProblemDetails {
  return {
    // "about:blank" means the title is the HTTP status phrase (RFC 9457 §4.2.1).
    type: "about:blank",
    title: TITLES[status] ?? "Error",
    status,
    detail,
    ...(instance ? { instance } : {}),
  };
}

export function sendProblem(res: ServerResponse, problem: HttpProblem, instance: string): void {
  const body: ProblemDetails = {
    ...problemBody(problem.status, problem.detail, instance),
    ...(problem.extra.errors ? { errors: problem.extra.errors } : {}),
  };
  const text = JSON.stringify(body);
  res.writeHead(problem.status, {
    "content-type": "application/problem+json",
    "content-length": Buffer.byteLength(text),
    "cache-control": "no-store",
    ...problem.extra.headers,
  });
  res.end(text);
}
