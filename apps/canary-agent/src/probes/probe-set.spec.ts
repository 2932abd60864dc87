import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';

import { routesSchema } from '@caracal-deploy/gateway-routes';
import type { Probe } from './probe.js';
import { ProbeSet } from './probe-set.js';

const routes = routesSchema.parse(
  JSON.stringify([
    {
      prefix: '/orders',
      upstream: 'http://127.0.0.1:9000/orders/',
      resource: { identifier: 'resource://orders' },
      operations: { GET: { id: 'orders.read', scope: 'read' } },
    },
  ]),
);

const gatewayCase = (name: string) => ({
  name,
  input: {
    schema_version: '2026-05-20',
    principal: { type: 'User', id: `canary-${name}`, zone_id: 'zone-a' },
    resource: {
      type: 'http',
      id: 'resource://orders',
      identifier: 'resource://orders',
      scopes: ['read'],
    },
    action: { id: 'orders.read', method: 'GET', path: '/orders' },
    context: { actor_claims: {}, challenge_resolved: false, requested_scopes: ['read'] },
  },
  expected_decision: 'allow',
});

const staticProbe: Probe = {
  id: 'case:b',
  zone: 'zone-a',
  subjectClaims: { sub: 'static' },
  resource: 'resource://orders',
  scopes: ['read'],
  method: 'GET',
  path: '/orders/static',
  expectedDecision: 'deny',
};

// The Admin API is a service boundary: a loopback server stands in for its expected-cases route.
describe('ProbeSet', () => {
  let server: Server;
  let url: string;
  let answer: { status: number; body: unknown } = { status: 200, body: {} };
  let reads = 0;

  before(async () => {
    server = createServer((request, response) => {
      reads += 1;
      const authorized = request.headers.authorization === 'Bearer viewer';
      response
        .writeHead(authorized ? answer.status : 401, { 'content-type': 'application/json' })
        .end(JSON.stringify(answer.body));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('adds the derived probes to the static ones and keeps them when a later read fails', async () => {
    const warnings: string[] = [];
    const counts: { static: number; derived: number; unmapped: number }[] = [];
    const set = new ProbeSet({
      staticProbes: [staticProbe],
      routes,
      expectedCases: {
        adminApiUrl: url,
        token: 'viewer',
        zone: 'zone-a',
        policySet: 'authz',
        refreshMs: 3_600_000,
      },
      timeoutMs: 2_000,
      logger: { log: () => undefined, warn: (message) => warnings.push(message) },
      changed: (change) => counts.push(change),
    });
    answer = {
      status: 200,
      body: {
        revision: 1,
        cases: [
          gatewayCase('a'),
          gatewayCase('b'),
          {
            ...gatewayCase('c'),
            input: { ...gatewayCase('c').input, action: { id: 'token.exchange' } },
          },
        ],
      },
    };
    await set.start();
    await set.stop();
    // The static probe keeps its id; the derived one of the same id is left out.
    assert.deepEqual(
      set.current().map((probe) => [probe.id, probe.path]),
      [
        ['case:b', '/orders/static'],
        ['case:a', '/orders'],
      ],
    );
    assert.deepEqual(
      set.unmappedCases.map((unmapped) => unmapped.name),
      ['c'],
    );
    assert.ok(
      warnings.some((warning) =>
        /expected case "c" is not probed: action token\.exchange/.test(warning),
      ),
    );
    assert.deepEqual(counts.at(-1), { static: 1, derived: 2, unmapped: 1 });

    answer = { status: 503, body: { error: { code: 'unavailable' } } };
    await set.refresh();
    assert.equal(set.current().length, 2);
    assert.ok(
      warnings.some((warning) =>
        /could not read the expected cases of zone-a\/authz: .*503.*keeping 2 derived probes/.test(
          warning,
        ),
      ),
    );

    answer = { status: 200, body: { revision: 2, cases: [] } };
    const before = reads;
    await set.refresh();
    assert.equal(reads, before + 1);
    assert.deepEqual(
      set.current().map((probe) => probe.id),
      ['case:b'],
    );
  });
});
