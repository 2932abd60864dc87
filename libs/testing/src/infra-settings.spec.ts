import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';

import { ConfigError } from '@caracal-deploy/config';

import { infraSettings, localDir } from './index.js';

describe('infraSettings', () => {
  it('defaults to the loopback addresses tools/infra serves', () => {
    const settings = infraSettings({});
    assert.deepEqual(settings, {
      opaBin: `${localDir}/bin/opa`,
      opaUrl: 'http://127.0.0.1:18181',
      kafkaBrokers: ['127.0.0.1:19092'],
      redisUrl: 'redis://127.0.0.1:16379',
      postgresUrl: 'postgres://caracal@127.0.0.1:15432/caracal',
      prometheusUrl: 'http://127.0.0.1:19090',
      prometheusTargetsDir: `${localDir}/etc/prometheus/targets`,
      alertmanagerUrl: 'http://127.0.0.1:19093',
      alertmanagerWebhookUrl: 'http://127.0.0.1:18090/v1/webhooks/alertmanager',
    });
  });

  it('resolves .local at the repository root, next to tools/infra', () => {
    assert.match(localDir, /\/\.local$/);
    assert.ok(existsSync(`${localDir}/../tools/infra`), `${localDir}/../tools/infra exists`);
  });

  it('takes every value from the environment when set', () => {
    const settings = infraSettings({
      CARACAL_OPA_BIN: '/opt/opa',
      CARACAL_OPA_URL: 'http://opa:8181',
      CARACAL_KAFKA_BROKERS: 'k1:9092, k2:9092',
      CARACAL_REDIS_URL: 'rediss://cache:6380',
      CARACAL_POSTGRES_URL: 'postgresql://u@db/x',
      CARACAL_PROMETHEUS_URL: 'http://prom:9090',
      CARACAL_PROMETHEUS_TARGETS_DIR: '/etc/targets',
      CARACAL_ALERTMANAGER_URL: 'http://am:9093',
      CARACAL_ALERTMANAGER_WEBHOOK_URL: 'http://rollback:8090/v1/webhooks/alertmanager',
    });
    assert.deepEqual(settings, {
      opaBin: '/opt/opa',
      opaUrl: 'http://opa:8181',
      kafkaBrokers: ['k1:9092', 'k2:9092'],
      redisUrl: 'rediss://cache:6380',
      postgresUrl: 'postgresql://u@db/x',
      prometheusUrl: 'http://prom:9090',
      prometheusTargetsDir: '/etc/targets',
      alertmanagerUrl: 'http://am:9093',
      alertmanagerWebhookUrl: 'http://rollback:8090/v1/webhooks/alertmanager',
    });
  });

  it('rejects a URL of the wrong kind, naming the variable', () => {
    assert.throws(
      () => infraSettings({ CARACAL_REDIS_URL: 'http://127.0.0.1:16379' }),
      (error: unknown) =>
        error instanceof ConfigError && /CARACAL_REDIS_URL: expected a URL/.test(error.message),
    );
  });
});
