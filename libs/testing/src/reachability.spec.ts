import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { UnavailableError } from '@caracal-deploy/errors';

import { assertReachable, infraSettings } from './index.js';

// Port 1 on loopback is never served here, so connecting fails at once with
// ECONNREFUSED: this exercises the "infra is not up" path without any infra.
const nothingListening = infraSettings({
  CARACAL_OPA_BIN: '/nonexistent/caracal/opa',
  CARACAL_OPA_URL: 'http://127.0.0.1:1',
  CARACAL_KAFKA_BROKERS: '127.0.0.1:1',
  CARACAL_REDIS_URL: 'redis://127.0.0.1:1',
  CARACAL_POSTGRES_URL: 'postgres://caracal:secret@127.0.0.1:1/caracal',
  CARACAL_PROMETHEUS_URL: 'http://127.0.0.1:1',
  CARACAL_ALERTMANAGER_URL: 'http://127.0.0.1:1',
});

describe('assertReachable', () => {
  it('fails fast with setup advice when Redis is down', async () => {
    await assert.rejects(assertReachable('redis', nothingListening), (error: unknown) => {
      assert.ok(error instanceof UnavailableError);
      assert.equal(
        error.message,
        'Redis is not reachable at redis://127.0.0.1:1 (ECONNREFUSED). ' +
          'Start the local infrastructure with `npm run infra -- up`, or set CARACAL_REDIS_URL.',
      );
      return true;
    });
  });

  it('names the variable of each component and hides passwords', async () => {
    const expectations = [
      [
        'opa',
        /^The OPA CLI is not usable at \/nonexistent\/caracal\/opa \(ENOENT\).*CARACAL_OPA_BIN\.$/,
      ],
      [
        'opa-server',
        /^The OPA server is not reachable at http:\/\/127\.0\.0\.1:1 .*CARACAL_OPA_URL\.$/,
      ],
      [
        'kafka',
        /^Kafka is not reachable at 127\.0\.0\.1:1 \(ECONNREFUSED\).*CARACAL_KAFKA_BROKERS\.$/,
      ],
      [
        'postgres',
        /^PostgreSQL is not reachable at postgres:\/\/caracal:\*\*\*@127\.0\.0\.1:1\/caracal \(ECONNREFUSED\).*CARACAL_POSTGRES_URL\.$/,
      ],
      ['prometheus', /^Prometheus is not reachable .*CARACAL_PROMETHEUS_URL\.$/],
      ['alertmanager', /^Alertmanager is not reachable .*CARACAL_ALERTMANAGER_URL\.$/],
    ] as const;
    for (const [component, message] of expectations) {
      await assert.rejects(assertReachable(component, nothingListening), (error: unknown) => {
        assert.ok(error instanceof UnavailableError);
        assert.match(error.message, message);
        return true;
      });
    }
  });
});
