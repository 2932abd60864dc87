import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { isSha256, isUuid, resourceSlug } from '../common/identifiers.js';
import { allRoutes, expressPath, openApiPath } from './route-table.js';

describe('route paths', () => {
  it('turns OpenAPI paths into Express paths and back, escaping custom verbs', () => {
    const path = '/v1/zones/{zone}/policies/{policy}/versions:pack';
    assert.equal(expressPath(path), '/v1/zones/:zone/policies/:policy/versions\\:pack');
    assert.equal(openApiPath(expressPath(path)), path);
  });

  it('declares each method and path once, and every operation id once', () => {
    const keys = allRoutes.map((route) => `${route.method} ${route.path}`);
    assert.equal(new Set(keys).size, keys.length);
    const ids = allRoutes.map((route) => route.operationId);
    assert.equal(new Set(ids).size, ids.length);
  });

  it('declares a params schema for every path parameter', () => {
    for (const route of allRoutes) {
      const names = [...route.path.matchAll(/\{([a-z0-9_]+)\}/g)].map((match) => match[1]);
      const declared = Object.keys(route.params?.shape ?? {});
      assert.deepEqual(declared.sort(), names.sort(), route.operationId);
    }
  });
});

describe('identifiers', () => {
  it('parses resource://<slug> identifiers and rejects others', () => {
    assert.equal(resourceSlug('resource://api'), 'api');
    assert.equal(resourceSlug('resource://orders-v2'), 'orders-v2');
    for (const bad of ['resource://', 'resource://Api', 'resource://-x', 'api', 'resource://a/b']) {
      assert.equal(resourceSlug(bad), undefined, bad);
    }
  });

  it('recognises UUIDs and sha256 hex', () => {
    assert.equal(isUuid('2e3c7276-8efa-4046-b37d-371458cf2e29'), true);
    assert.equal(isUuid('2e3c7276'), false);
    assert.equal(isSha256('a'.repeat(64)), true);
    assert.equal(isSha256('A'.repeat(64)), false);
  });
});
