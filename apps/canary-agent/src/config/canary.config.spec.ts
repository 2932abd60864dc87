import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { ConfigError } from '@caracal-deploy/config';

import { loadCanaryConfig } from './canary.config.js';

describe('canary-agent configuration', () => {
  it('has working defaults', () => {
    const config = loadCanaryConfig({});
    assert.equal(config.aggregatorAddress, '127.0.0.1:50073');
    assert.equal(config.metricsPort, 9474);
    assert.equal(config.rounds.intervalMs, 5_000);
    assert.equal(config.rounds.jitter, 0.1);
    assert.equal(config.expectedCases, undefined);
    assert.deepEqual(config.routes, []);
  });

  it('reads the expected-cases source and the Gateway routes', () => {
    const config = loadCanaryConfig({
      CARACAL_CANARY_ADMIN_API_URL: 'http://admin.test:8080/',
      CARACAL_CANARY_ADMIN_API_TOKEN: 'viewer-token',
      CARACAL_CANARY_POLICY_SET: 'authz',
      CARACAL_CANARY_ZONE: 'zone-eu',
      CARACAL_CANARY_GATEWAY_URL: 'http://127.0.0.1:8500/',
      CARACAL_CANARY_ROUTES: JSON.stringify([
        {
          prefix: '/orders/',
          upstream: 'http://127.0.0.1:9000/orders/',
          resource: { identifier: 'resource://orders' },
          operations: { GET: 'read' },
        },
      ]),
    });
    assert.deepEqual(config.expectedCases, {
      adminApiUrl: 'http://admin.test:8080',
      token: 'viewer-token',
      zone: 'zone-eu',
      policySet: 'authz',
      refreshMs: 60_000,
    });
    assert.equal(config.gatewayUrl, 'http://127.0.0.1:8500');
    assert.equal(config.routes[0]!.prefix, '/orders');
    assert.deepEqual(config.routes[0]!.operations.get('GET'), { id: 'GET /orders', scope: 'read' });
  });

  it('names each bad key', () => {
    assert.throws(
      () =>
        loadCanaryConfig({
          CARACAL_CANARY_JITTER: '2',
          CARACAL_CANARY_GATEWAY_URL: 'ftp://x',
          CARACAL_CANARY_ROUTES: '[{"prefix": "orders"}]',
        }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        const keys = error.problems.map((problem) => problem.key);
        assert.ok(keys.includes('CARACAL_CANARY_JITTER'), keys.join());
        assert.ok(keys.includes('CARACAL_CANARY_GATEWAY_URL'), keys.join());
        assert.ok(
          keys.some((key) => key.startsWith('CARACAL_CANARY_ROUTES')),
          keys.join(),
        );
        return true;
      },
    );
  });

  it('requires the Admin API URL and token when a policy set is named', () => {
    assert.throws(
      () => loadCanaryConfig({ CARACAL_CANARY_POLICY_SET: 'authz' }),
      /CARACAL_CANARY_ADMIN_API_URL: required when CARACAL_CANARY_POLICY_SET is set[\s\S]*CARACAL_CANARY_ADMIN_API_TOKEN: required/,
    );
  });
});
