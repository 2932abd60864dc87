import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Counter } from 'prom-client';

import { type MetricsServer, createMetricsRegistry, startMetricsServer } from './index.js';

describe('metrics endpoint', () => {
  const registry = createMetricsRegistry('unit-test');
  const decisions = new Counter({
    name: 'caracal_test_decisions_total',
    help: 'decisions seen by the test',
    labelNames: ['decision'],
    registers: [registry],
  });
  let server: MetricsServer;

  before(async () => {
    server = await startMetricsServer(registry, { port: 0 });
  });
  after(() => server.close());

  it('serves the registry in the Prometheus text format with the service label', async () => {
    decisions.inc({ decision: 'allow' }, 3);
    const response = await fetch(`http://127.0.0.1:${server.port}/metrics`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/plain/);
    const body = await response.text();
    assert.match(body, /caracal_test_decisions_total\{decision="allow",service="unit-test"\} 3/);
    assert.match(body, /process_cpu_user_seconds_total\{service="unit-test"\}/);
  });

  it('answers 404 with a hint for any other path', async () => {
    const response = await fetch(`http://127.0.0.1:${server.port}/metric`);
    assert.equal(response.status, 404);
    assert.match(await response.text(), /GET \/metrics/);
  });
});
