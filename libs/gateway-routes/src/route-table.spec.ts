import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  RouteTable,
  routesSchema,
  splitTarget,
  unsafePathReason,
  upstreamPath,
} from './route-table.js';

const parse = (routes: unknown) => routesSchema.parse(JSON.stringify(routes));

const orders = {
  prefix: '/orders/',
  upstream: 'http://127.0.0.1:9000/api/orders/',
  resource: { identifier: 'resource://orders', id: 'res-orders' },
  operations: { GET: 'read', POST: { id: 'orders.create', scope: 'write' } },
};

describe('routes', () => {
  it('parses routes with defaults for resource type, scopes and operation ids', () => {
    const [route] = parse([orders]);
    assert.equal(route!.prefix, '/orders');
    assert.deepEqual(route!.resource, {
      identifier: 'resource://orders',
      id: 'res-orders',
      type: 'http',
      scopes: ['read', 'write'],
    });
    assert.deepEqual(route!.operations.get('GET'), { id: 'GET /orders', scope: 'read' });
    assert.deepEqual(route!.operations.get('POST'), { id: 'orders.create', scope: 'write' });
  });

  it('refuses malformed routes, naming the field', () => {
    const bad = (routes: unknown, pattern: RegExp) => {
      const result = routesSchema.safeParse(JSON.stringify(routes));
      assert.equal(result.success, false);
      assert.match(JSON.stringify(result.error.issues), pattern);
    };
    bad([{ ...orders, upstream: 'ftp://x/' }], /upstream/);
    bad([{ ...orders, prefix: 'orders' }], /absolute path prefix/);
    bad([{ ...orders, prefix: '/a/../b' }], /"\.\." segments|\\"\.\\" or/);
    bad([{ ...orders, operations: { get: 'read' } }], /upper-case HTTP method/);
    bad([{ ...orders, operations: { GET: 'read write' } }], /scope token/);
    bad([{ ...orders, operations: {} }], /at least one method/);
    bad([orders, { ...orders, prefix: '/orders' }], /configured twice/);
    assert.equal(routesSchema.safeParse('[').success, false);
  });

  it('matches the longest prefix on whole segments', () => {
    const table = new RouteTable(
      parse([
        orders,
        { ...orders, prefix: '/orders/archive', resource: { identifier: 'resource://archive' } },
      ]),
    );
    assert.equal(table.match('/orders')?.resource.identifier, 'resource://orders');
    assert.equal(table.match('/orders/42')?.resource.identifier, 'resource://orders');
    assert.equal(table.match('/orders/archive/1')?.resource.identifier, 'resource://archive');
    assert.equal(table.match('/ordersx'), undefined);
    assert.equal(table.match('/billing'), undefined);
  });

  it('replaces the prefix with the upstream base path and keeps the query', () => {
    const [route] = parse([orders]);
    assert.equal(upstreamPath(route!, '/orders/42', '?a=1'), '/api/orders/42?a=1');
    assert.equal(upstreamPath(route!, '/orders', ''), '/api/orders');
    const [root] = parse([{ ...orders, upstream: 'http://127.0.0.1:9000' }]);
    assert.equal(upstreamPath(root!, '/orders', ''), '/');
    assert.equal(upstreamPath(root!, '/orders/1', ''), '/1');
  });

  it('refuses paths that could leave the route at the upstream', () => {
    assert.equal(unsafePathReason('/orders/42'), undefined);
    assert.match(unsafePathReason('/orders/../admin')!, /segment/);
    assert.match(unsafePathReason('/orders/..;/admin')!, /segment/);
    assert.match(unsafePathReason('/orders/./x')!, /segment/);
    assert.equal(unsafePathReason('/orders/..x/...'), undefined);
    assert.match(unsafePathReason('/orders/%2e%2e/admin')!, /encoded/);
    assert.match(unsafePathReason('/orders/%2F..')!, /encoded/);
    assert.match(unsafePathReason('/orders\\..\\admin')!, /backslash/);
    assert.match(unsafePathReason('http://evil/orders')!, /absolute path/);
    assert.deepEqual(splitTarget('/a?b=1?c'), { path: '/a', query: '?b=1?c' });
  });
});
