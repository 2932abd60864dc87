import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { ConfigError } from '@caracal-deploy/config';

import { loadAdminConfig } from './admin.config.js';

describe('admin-api configuration', () => {
  it('defaults to loopback ports and the documented bounds', () => {
    const config = loadAdminConfig({});
    assert.equal(config.httpHost, '127.0.0.1');
    assert.equal(config.httpPort, 8470);
    assert.equal(config.metricsPort, 9470);
    assert.equal(config.validatorAddress, '127.0.0.1:50061');
    assert.equal(config.coordinatorAddress, '127.0.0.1:50071');
    assert.equal(config.rollbackAddress, '127.0.0.1:50072');
    assert.equal(config.postgresUrl, 'postgres://caracal@127.0.0.1:15432/caracal');
    assert.equal(config.maxBodyBytes, 1024 * 1024);
    assert.equal(config.maxPolicySetSize, 100);
    assert.equal(config.migrateOnStart, true);
  });

  it('refuses bad values, naming each key', () => {
    assert.throws(
      () =>
        loadAdminConfig({
          CARACAL_ADMIN_HTTP_PORT: '70000',
          CARACAL_POSTGRES_URL: 'mysql://x',
          CARACAL_MAX_POLICY_SET_SIZE: '0',
        }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.deepEqual(error.problems.map((problem) => problem.key).sort(), [
          'CARACAL_ADMIN_HTTP_PORT',
          'CARACAL_MAX_POLICY_SET_SIZE',
          'CARACAL_POSTGRES_URL',
        ]);
        return true;
      },
    );
  });
});
