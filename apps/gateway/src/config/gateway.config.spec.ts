import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { ConfigError } from '@caracal-deploy/config';

import { loadGatewayConfig } from './gateway.config.js';

describe('loadGatewayConfig', () => {
  it('has working developer defaults', () => {
    const config = loadGatewayConfig({});
    assert.deepEqual(config.http, {
      host: '127.0.0.1',
      port: 8500,
      maxBodyBytes: 10 * 1024 * 1024,
    });
    assert.deepEqual(config.sts.addresses, ['127.0.0.1:50081']);
    assert.deepEqual(config.tokens.jwksUrls, ['http://127.0.0.1:8480/.well-known/jwks.json']);
    assert.equal(config.tokens.issuer, 'http://127.0.0.1:8480');
    assert.deepEqual(config.routes, []);
  });

  it('reads several STS replicas and routes', () => {
    const config = loadGatewayConfig({
      CARACAL_GATEWAY_STS_ADDRESSES: '127.0.0.1:1, 127.0.0.1:2',
      CARACAL_GATEWAY_ROUTES: JSON.stringify([
        {
          prefix: '/orders',
          upstream: 'http://127.0.0.1:9000/',
          resource: { identifier: 'resource://orders' },
          operations: { GET: 'read' },
        },
      ]),
    });
    assert.deepEqual(config.sts.addresses, ['127.0.0.1:1', '127.0.0.1:2']);
    assert.equal(config.routes[0]?.resource.identifier, 'resource://orders');
  });

  it('refuses bad values naming each key', () => {
    assert.throws(
      () =>
        loadGatewayConfig({
          CARACAL_GATEWAY_HTTP_PORT: '70000',
          CARACAL_GATEWAY_ROUTES: '[{"prefix": "/x"}]',
        }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.deepEqual(
          error.problems.map((problem) => problem.key.split('.')[0]),
          [
            'CARACAL_GATEWAY_HTTP_PORT',
            'CARACAL_GATEWAY_ROUTES',
            'CARACAL_GATEWAY_ROUTES',
            'CARACAL_GATEWAY_ROUTES',
          ],
        );
        return true;
      },
    );
  });
});
