import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { allRoutes } from '../http/route-table.js';
import { ifNoneMatchHits } from '../registry/bundles.controller.js';
import { openApiDocument } from './openapi-document.js';

type Operation = {
  operationId: string;
  requestBody?: { content: Record<string, { schema: Record<string, unknown> }> };
  responses: Record<string, unknown>;
  security?: unknown[];
};

const document = openApiDocument(allRoutes, '0.0.0-test') as {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
};

describe('OpenAPI document', () => {
  it('is OpenAPI 3.1 and has one operation per route-table entry', () => {
    assert.equal(document.openapi, '3.1.0');
    for (const route of allRoutes) {
      assert.equal(document.paths[route.path]?.[route.method]?.operationId, route.operationId);
    }
    const operations = Object.values(document.paths).flatMap((item) => Object.keys(item));
    assert.equal(operations.length, allRoutes.length);
  });

  it('documents request bodies with the schemas that validate them', () => {
    const body = document.paths['/v1/zones/{zone}/policies/{policy}/versions']?.post?.requestBody;
    const schema = body?.content['application/json']?.schema as {
      properties: { modules: { items: { required: string[] } } };
      required: string[];
      additionalProperties: boolean;
    };
    assert.deepEqual(schema.required, ['modules']);
    assert.deepEqual(schema.properties.modules.items.required, ['path', 'source']);
    assert.equal(schema.additionalProperties, false);
  });

  it('documents the pack manifest with the vendored Caracal JSON Schema', () => {
    const body =
      document.paths['/v1/zones/{zone}/policies/{policy}/versions:pack']?.post?.requestBody;
    const schema = body?.content['application/json']?.schema as {
      properties: { manifest: { title: string; required: string[] } };
    };
    assert.equal(schema.properties.manifest.title, 'Caracal Policy Pack Manifest');
    assert.ok(schema.properties.manifest.required.includes('rego_modules'));
  });

  it('documents auth errors on protected routes only', () => {
    const zones = document.paths['/v1/zones']?.post;
    assert.ok(zones?.responses['401'] && zones.responses['403']);
    const openapi = document.paths['/v1/openapi.json']?.get;
    assert.equal(openapi?.responses['401'], undefined);
    assert.deepEqual(openapi?.security, []);
  });
});

describe('If-None-Match', () => {
  const etag = `"${'a'.repeat(64)}"`;
  it('matches the ETag, a list holding it, its weak form and *', () => {
    assert.equal(ifNoneMatchHits(etag, etag), true);
    assert.equal(ifNoneMatchHits(`"x", ${etag}`, etag), true);
    assert.equal(ifNoneMatchHits(`W/${etag}`, etag), true);
    assert.equal(ifNoneMatchHits('*', etag), true);
  });
  it('does not match another tag or a missing header', () => {
    assert.equal(ifNoneMatchHits(`"${'b'.repeat(64)}"`, etag), false);
    assert.equal(ifNoneMatchHits(undefined, etag), false);
  });
});
