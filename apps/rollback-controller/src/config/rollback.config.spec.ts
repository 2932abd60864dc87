import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { ConfigError } from '@caracal-deploy/config';

import { devWebhookToken, loadRollbackConfig } from './rollback.config.js';

describe('rollback-controller configuration', () => {
  it('defaults to the documented loopback addresses and its own database', () => {
    const config = loadRollbackConfig({});
    assert.equal(config.httpHost, '127.0.0.1');
    assert.equal(config.httpPort, 18090);
    assert.equal(config.grpcAddress, '127.0.0.1:50072');
    assert.equal(config.metricsPort, 9472);
    assert.equal(config.coordinatorAddress, '127.0.0.1:50071');
    assert.equal(config.postgresUrl, 'postgres://caracal@127.0.0.1:15432/caracal_rollback');
    assert.equal(config.webhookToken, devWebhookToken);
    assert.equal(config.grafanaSigning, undefined);
    assert.equal(config.cooldownMs, 600_000);
  });

  it('enables Grafana signing with a secret, headers compared lowercase', () => {
    const config = loadRollbackConfig({
      CARACAL_ROLLBACK_GRAFANA_HMAC_SECRET: 's3cret',
      CARACAL_ROLLBACK_GRAFANA_TIMESTAMP_HEADER: 'X-Grafana-Alerting-Timestamp',
    });
    assert.deepEqual(config.grafanaSigning, {
      secret: 's3cret',
      signatureHeader: 'x-grafana-alerting-signature',
      timestampHeader: 'x-grafana-alerting-timestamp',
      maxSkewMs: 300_000,
    });
  });

  it('refuses bad values, naming each key', () => {
    assert.throws(
      () =>
        loadRollbackConfig({
          CARACAL_ROLLBACK_HTTP_PORT: '70000',
          CARACAL_ROLLBACK_POSTGRES_URL: 'mysql://x',
          CARACAL_ROLLBACK_WEBHOOK_TOKEN: 'short',
        }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.deepEqual(error.problems.map((problem) => problem.key).sort(), [
          'CARACAL_ROLLBACK_HTTP_PORT',
          'CARACAL_ROLLBACK_POSTGRES_URL',
          'CARACAL_ROLLBACK_WEBHOOK_TOKEN',
        ]);
        return true;
      },
    );
  });
});
