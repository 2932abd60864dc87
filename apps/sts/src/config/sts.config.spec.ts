import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { ConfigError } from '@caracal-deploy/config';

import { loadStsConfig } from './sts.config.js';

describe('loadStsConfig', () => {
  it('has working developer defaults', () => {
    const config = loadStsConfig({});
    assert.deepEqual(config.zones, ['zone-demo']);
    assert.equal(config.region, 'local');
    assert.deepEqual(config.http, { host: '127.0.0.1', port: 8480, maxBodyBytes: 16_384 });
    assert.equal(config.grpcAddress, '127.0.0.1:50081');
    assert.equal(config.metricsPort, 9480);
    assert.equal(config.accessTokenTtlSeconds, 300);
    assert.equal(config.coordinatorAddress, '127.0.0.1:50071');
    assert.equal(config.adminApi.url, 'http://127.0.0.1:8470');
    assert.deepEqual(config.catalog, { ttlMs: 30_000, maxEntries: 10_000 });
    assert.match(config.signing.keyFile, /\.local\/keys\/sts-es256\.pem$/);
    assert.match(config.bundles.publicKeyFile, /\.local\/keys\/bundle-signing-es256\.pem$/);
    assert.match(config.replicaId, /-\d+$/);
    assert.deepEqual(config.kafka.maskedPaths, []);
  });

  it('parses lists and trims the Admin API URL', () => {
    const config = loadStsConfig({
      CARACAL_STS_ZONES: 'zone-a, zone-b',
      CARACAL_ADMIN_API_URL: 'http://admin:8470/',
      CARACAL_DECISION_LOG_MASKED_PATHS: 'context.subject_claims.email, principal.labels',
    });
    assert.deepEqual(config.zones, ['zone-a', 'zone-b']);
    assert.equal(config.adminApi.url, 'http://admin:8470');
    assert.deepEqual(config.kafka.maskedPaths, [
      'context.subject_claims.email',
      'principal.labels',
    ]);
  });

  it('refuses bad values naming each key', () => {
    assert.throws(
      () =>
        loadStsConfig({
          CARACAL_STS_ZONES: 'Zone A',
          CARACAL_STS_HTTP_PORT: '70000',
          CARACAL_ADMIN_API_URL: 'ftp://x',
        }),
      (error: unknown) =>
        error instanceof ConfigError &&
        ['CARACAL_STS_ZONES', 'CARACAL_STS_HTTP_PORT', 'CARACAL_ADMIN_API_URL'].every((key) =>
          error.problems.some((problem) => problem.key === key),
        ),
    );
  });
});
