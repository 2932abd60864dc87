import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { ConfigError } from '@caracal-deploy/config';

import { loadCoordinatorConfig } from './coordinator.config.js';

describe('loadCoordinatorConfig', () => {
  it('defaults to the address the STS calls and the local infrastructure', () => {
    const config = loadCoordinatorConfig({});
    assert.equal(config.grpcAddress, '127.0.0.1:50071');
    assert.equal(config.metricsPort, 9471);
    assert.equal(config.redisUrl, 'redis://127.0.0.1:16379');
    assert.match(config.postgresUrl, /^postgres:\/\//);
    assert.equal(config.outbox.maxAttempts, 8);
    assert.equal(config.deployments.verifierAddress, '127.0.0.1:50073');
    assert.equal(config.deployments.rollbackAddress, '127.0.0.1:50072');
  });

  it('names the bad key', () => {
    assert.throws(
      () => loadCoordinatorConfig({ CARACAL_COORDINATOR_STALL_AFTER_MS: '-5' }),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.problems[0]?.key === 'CARACAL_COORDINATOR_STALL_AFTER_MS',
    );
    assert.throws(
      () => loadCoordinatorConfig({ CARACAL_REDIS_URL: 'http://redis' }),
      (error: unknown) =>
        error instanceof ConfigError && error.problems[0]?.key === 'CARACAL_REDIS_URL',
    );
  });
});
