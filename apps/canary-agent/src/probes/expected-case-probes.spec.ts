import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { deriveProbes, type ExpectedCase } from './expected-case-probes.js';
import { routesSchema } from '@caracal-deploy/gateway-routes';

const routes = routesSchema.parse(
  JSON.stringify([
    {
      prefix: '/orders/',
      upstream: 'http://127.0.0.1:9000/orders/',
      resource: { identifier: 'resource://orders', id: 'res-orders', scopes: ['read', 'write'] },
      operations: {
        GET: { id: 'orders.read', scope: 'read' },
        POST: { id: 'orders.create', scope: 'write' },
      },
    },
    {
      prefix: '/billing',
      upstream: 'http://127.0.0.1:9001/',
      resource: { identifier: 'resource://billing' },
      operations: { GET: 'read' },
    },
  ]),
);

const zone = 'zone-a';

/** A Gateway-shaped input for GET /orders/1 as `sub`, with `overrides` merged per top-level key. */
function input(overrides: Record<string, Record<string, unknown>> = {}): Record<string, unknown> {
  const base: Record<string, Record<string, unknown>> = {
    principal: { type: 'User', id: 'canary-1', zone_id: zone },
    resource: {
      type: 'http',
      id: 'res-orders',
      identifier: 'resource://orders',
      scopes: ['read', 'write'],
    },
    action: { id: 'orders.read', method: 'GET', path: '/orders/1' },
    context: { actor_claims: {}, challenge_resolved: false, requested_scopes: ['read'] },
  };
  const merged: Record<string, unknown> = { schema_version: '2026-05-20' };
  for (const key of Object.keys(base)) merged[key] = { ...base[key], ...overrides[key] };
  for (const key of Object.keys(overrides)) if (!(key in base)) merged[key] = overrides[key];
  return merged;
}

const probeCase = (
  name: string,
  caseInput: Record<string, unknown>,
  expected: 'allow' | 'deny' = 'allow',
): ExpectedCase => ({ name, input: caseInput, expected_decision: expected });

describe('deriveProbes', () => {
  it('turns a Gateway-shaped case into a probe with its method, path, scope and principal', () => {
    const { probes, unmapped } = deriveProbes([probeCase('read order', input())], routes, zone);
    assert.deepEqual(unmapped, []);
    assert.deepEqual(probes, [
      {
        id: 'case:read order',
        zone,
        subjectClaims: { sub: 'canary-1', zone_id: zone },
        resource: 'resource://orders',
        scopes: ['read'],
        method: 'GET',
        path: '/orders/1',
        expectedDecision: 'allow',
      },
    ]);
  });

  it('maps a case without method and path through the operation whose id is the action', () => {
    const { probes } = deriveProbes(
      [
        probeCase(
          'create',
          input({
            action: { id: 'orders.create', method: undefined, path: undefined },
            context: { requested_scopes: ['write'] },
          }),
          'deny',
        ),
      ],
      routes,
      zone,
    );
    assert.equal(probes.length, 1);
    assert.equal(probes[0]!.method, 'POST');
    assert.equal(probes[0]!.path, '/orders');
    assert.deepEqual(probes[0]!.scopes, ['write']);
    assert.equal(probes[0]!.expectedDecision, 'deny');
  });

  it('uses the Gateway default operation id "<METHOD> <prefix>" and carries session and client claims', () => {
    const { probes, unmapped } = deriveProbes(
      [
        probeCase(
          'billing',
          input({
            principal: { type: 'Application' },
            resource: {
              id: 'resource://billing',
              identifier: 'resource://billing',
              scopes: ['read'],
            },
            action: { id: 'GET /billing', method: 'GET', path: '/billing' },
            session: { id: 'sess-1' },
            context: { subject_claims: { client_id: 'canary-app', iss: 'x', jti: 'y' } },
          }),
        ),
      ],
      routes,
      zone,
    );
    assert.deepEqual(unmapped, []);
    assert.deepEqual(probes[0]!.subjectClaims, {
      sub: 'canary-1',
      zone_id: zone,
      sub_type: 'application',
      client_id: 'canary-app',
      sid: 'sess-1',
    });
  });

  it('names why each unmappable case is left out', () => {
    const cases = [
      probeCase(
        'exchange',
        input({ action: { id: 'token.exchange', method: undefined, path: undefined } }),
      ),
      probeCase('unrouted', input({ resource: { identifier: 'resource://nope' } })),
      probeCase('wrong method', input({ action: { method: 'DELETE' } })),
      probeCase('other path', input({ action: { path: '/billing/1' } })),
      probeCase('scopes', input({ context: { requested_scopes: ['read', 'write'] } })),
      probeCase('email', input({ context: { subject_claims: { email: 'a@example.test' } } })),
      probeCase('actor', input({ context: { actor_claims: { sub: 'agent' } } })),
      probeCase('zone', input({ principal: { zone_id: 'zone-b' } })),
      probeCase('labels', input({ principal: { labels: ['canary'] } })),
      probeCase('dots', input({ action: { path: '/orders/../admin' } })),
      probeCase('resource id', input({ resource: { id: 'res-other' } })),
      probeCase('delegation', input({ delegation_edge: { id: 'edge-1' } })),
    ];
    const { probes, unmapped } = deriveProbes(cases, routes, zone);
    assert.equal(probes.length, 0);
    const reasons = Object.fromEntries(unmapped.map(({ name, reason }) => [name, reason]));
    assert.match(
      reasons['exchange']!,
      /action token\.exchange is no operation of a route fronting resource:\/\/orders/,
    );
    assert.match(reasons['unrouted']!, /routes to resource:\/\/orders, not resource:\/\/nope/);
    assert.match(
      reasons['wrong method']!,
      /route \/orders has no DELETE operation \(it has GET, POST\)/,
    );
    assert.match(reasons['other path']!, /\/billing\/1 routes to resource:\/\/billing/);
    assert.match(
      reasons['scopes']!,
      /requested_scopes are \["read","write"\]; the Gateway requests \["read"\]/,
    );
    assert.match(reasons['email']!, /subject_claims\.email cannot reach the Gateway/);
    assert.match(reasons['actor']!, /actor_claims is not empty/);
    assert.match(reasons['zone']!, /principal\.zone_id is zone-b, not the zone zone-a/);
    assert.match(reasons['labels']!, /principal\.labels is set, but the Gateway never sends it/);
    assert.match(reasons['dots']!, /is not a path the Gateway routes/);
    assert.match(
      reasons['resource id']!,
      /resource\.id is "res-other"; the Gateway sends res-orders/,
    );
  });

  it('reports a case whose resource no route fronts', () => {
    const { unmapped } = deriveProbes(
      [
        probeCase(
          'catalog only',
          input({
            resource: { identifier: 'resource://reports' },
            action: { id: 'reports.read', method: undefined, path: undefined },
          }),
        ),
      ],
      routes,
      zone,
    );
    assert.deepEqual(unmapped, [
      { name: 'catalog only', reason: 'no Gateway route fronts resource://reports' },
    ]);
  });
});
