import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";

export interface RecordedCall {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body?: unknown;
}

interface Note {
  id: number;
  body: string;
  system: boolean;
}

/**
 * Just enough of GitLab's merge request notes API (list, create, update) on 127.0.0.1 to watch what
 * the note step sends. Starts with one system note and one human note, as a real MR would have.
 */
export async function startFakeGitlab(): Promise<{
  apiUrl: string;
  calls: RecordedCall[];
  notes: Note[];
  close: () => Promise<void>;
}> {
  const calls: RecordedCall[] = [];
  const notes: Note[] = [
    { id: 7, body: "added 1 commit", system: true },
    { id: 8, body: "Looks good to me", system: false },
  ];
  let nextId = 100;
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const url = new URL(request.url ?? "/", "http://127.0.0.1");
      const text = Buffer.concat(chunks).toString("utf8");
      const body = text ? (JSON.parse(text) as { body?: string }) : undefined;
      calls.push({ method: request.method ?? "", path: url.pathname, headers: request.headers, body });
      const send = (status: number, payload: unknown) => {
        response.writeHead(status, { "content-type": "application/json" });
        response.end(JSON.stringify(payload));
      };
      const list = url.pathname.match(/^\/api\/v4\/projects\/([^/]+)\/merge_requests\/(\d+)\/notes$/);
      const one = url.pathname.match(/^\/api\/v4\/projects\/([^/]+)\/merge_requests\/(\d+)\/notes\/(\d+)$/);
      if (!request.headers["private-token"]) return send(401, { message: "401 Unauthorized" });
      if (list && request.method === "GET") return send(200, notes);
      if (list && request.method === "POST") {
        const note = { id: nextId++, body: body?.body ?? "", system: false };
        notes.push(note);
        return send(201, note);
      }
      if (one && request.method === "PUT") {
        const note = notes.find((candidate) => candidate.id === Number(one[3]));
        if (!note) return send(404, { message: "404 Not found" });
        note.body = body?.body ?? note.body;
        return send(200, note);
      }
      return send(404, { message: "404 Not found" });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    apiUrl: `http://127.0.0.1:${port}/api/v4`,
    calls,
    notes,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
