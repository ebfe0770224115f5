/// <reference types="vite/client" />
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Ajv2020 } from "ajv/dist/2020.js";
import { beforeAll, describe, expect, it } from "vitest";
import { InProcessQueue } from "../../src/jobs/in-process.js";
import { openApiDocument } from "../../src/service/openapi.js";
import { createServiceHandler, type ServiceHandler } from "../../src/service/server.js";
import { openServiceStore } from "../../src/store/index.js";
import { tempDir } from "../helpers/temp-dir.js";

const root = path.resolve(fileURLToPath(new URL("../../..", import.meta.url)));
const METHODS = ["get", "put", "post", "delete", "patch", "head", "options"];

// The dashboard's read-model paths (core/src/service/read-model.ts, its own branch) when the file exists.
const readModelModules = import.meta.glob<{ readModelOpenApiPaths?: Record<string, unknown> }>(
  "../../src/service/read-model.ts",
);

type Operation = {
  operationId?: string;
  responses?: Record<string, unknown>;
  parameters?: { name: string; in: string }[];
};
type PathItem = Record<string, unknown> & { parameters?: { name: string; in: string }[] };

describe("the service's OpenAPI 3.1 document", () => {
  let document: Record<string, unknown>;
  let handler: ServiceHandler;

  beforeAll(async () => {
    let extra: Record<string, unknown> = {};
    for (const load of Object.values(readModelModules)) extra = (await load()).readModelOpenApiPaths ?? {};
    document = openApiDocument(extra);
    const store = await openServiceStore(path.join(tempDir("stowaway-openapi-"), "store.sqlite"));
    handler = createServiceHandler({ store, queue: new InProcessQueue(store), extraOpenApiPaths: extra });
  });

  it("is the committed docs/openapi.json (regenerate with npx tsx scripts/write-openapi.ts)", () => {
    const committed = JSON.parse(readFileSync(path.join(root, "docs/openapi.json"), "utf8")) as unknown;
    expect(committed).toEqual(JSON.parse(JSON.stringify(document)));
  });

  it("documents every route the server answers, with its scope's errors, and nothing it does not answer", () => {
    const paths = document["paths"] as Record<string, PathItem>;
    const served = new Set(handler.routes.map((route) => `${route.method} ${route.template}`));
    for (const route of handler.routes) {
      const operation = paths[route.template]?.[route.method.toLowerCase()] as Operation | undefined;
      expect(operation, `${route.method} ${route.template}`).toBeDefined();
      if (route.scope !== "public") expect(Object.keys(operation!.responses!)).toContain("401");
      if (route.scope === "write") expect(Object.keys(operation!.responses!)).toContain("403");
      if (route.scope === "public") expect((operation as { security?: unknown[] }).security).toEqual([]);
    }
    for (const [template, item] of Object.entries(paths)) {
      for (const method of METHODS.filter((name) => name in item)) {
        const key = `${method.toUpperCase()} ${template}`;
        // The dashboard's read-model endpoints are served through its own handler.
        if (template.startsWith("/api/v1/") && !served.has(key) && Object.keys(readModelPathsOf()).includes(template))
          continue;
        expect(served.has(key), key).toBe(true);
      }
    }
    function readModelPathsOf(): Record<string, unknown> {
      const own = openApiDocument()["paths"] as Record<string, unknown>;
      return Object.fromEntries(Object.entries(paths).filter(([template]) => !(template in own)));
    }
  });

  it("is structurally valid OpenAPI 3.1: versions, unique operation ids, declared path parameters, resolvable refs, compilable schemas", () => {
    expect(document["openapi"]).toMatch(/^3\.1\.\d+$/);
    const info = document["info"] as Record<string, unknown>;
    expect(typeof info["title"]).toBe("string");
    expect(typeof info["version"]).toBe("string");
    const paths = document["paths"] as Record<string, PathItem>;
    const ids = new Set<string>();
    for (const [template, item] of Object.entries(paths)) {
      expect(template.startsWith("/"), template).toBe(true);
      const templated = [...template.matchAll(/\{(\w+)\}/g)].map((match) => match[1]!);
      for (const method of METHODS.filter((name) => name in item)) {
        const operation = item[method] as Operation;
        expect(operation.operationId, `${method} ${template}`).toBeTruthy();
        expect(ids.has(operation.operationId!), `duplicate ${operation.operationId}`).toBe(false);
        ids.add(operation.operationId!);
        expect(Object.keys(operation.responses ?? {}).length, `${method} ${template} responses`).toBeGreaterThan(0);
        for (const status of Object.keys(operation.responses!)) expect(status).toMatch(/^([1-5]\d\d|[1-5]XX|default)$/);
        const declared = [...(item.parameters ?? []), ...(operation.parameters ?? [])]
          .filter((parameter) => parameter.in === "path")
          .map((parameter) => parameter.name);
        expect(declared.sort(), `${method} ${template} path parameters`).toEqual([...templated].sort());
      }
    }
    const text = JSON.stringify(document);
    for (const [, pointer] of text.matchAll(/"\$ref":"#([^"]*)"/g)) {
      let node: unknown = document;
      for (const part of pointer!.split("/").slice(1))
        node = (node as Record<string, unknown>)[part.replace(/~1/g, "/").replace(/~0/g, "~")];
      expect(node, `$ref #${pointer}`).toBeDefined();
    }
    const ajv = new Ajv2020({ strict: false });
    ajv.addSchema({ $id: "https://stowaway.invalid/openapi-test", components: document["components"] });
    const schemas = (document["components"] as { schemas: Record<string, unknown> }).schemas;
    for (const name of Object.keys(schemas)) {
      expect(
        () => ajv.getSchema(`https://stowaway.invalid/openapi-test#/components/schemas/${name}`),
        name,
      ).not.toThrow();
    }
  });
});
