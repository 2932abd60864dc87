import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { workspaceRoot } from '@caracal-deploy/config';
import {
  ActivationTrigger,
  HealthService,
  RollbackOutcome,
  RollbackService,
  ServingStatus,
} from '@caracal-deploy/contracts';
import { createGrpcClient } from '@caracal-deploy/grpc';
import {
  assertReachable,
  createTestDatabase,
  infraSettings,
  waitFor,
  type TestDatabase,
} from '@caracal-deploy/testing';
import { ActivationLedger, ActivationStandIn } from '@caracal-deploy/stand-ins';

import { alertmanagerBody, testAlert } from './test-support/payloads.js';

const settings = infraSettings();
const main = join(workspaceRoot(import.meta.url), 'apps/rollback-controller/dist/main.js');
const token = 'rollback-process-webhook-token';

/** A port nobody listens on right now (the controller binds it next). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('rollback-controller as a process (node dist/main.js with env)', () => {
  let database: TestDatabase;
  let ledger: ActivationLedger;
  let coordinator: ActivationStandIn;
  let child: ChildProcess;
  let output = '';
  let httpPort = 0;
  let metricsPort = 0;
  let grpcAddress = '';

  before(async () => {
    await assertReachable('postgres', settings);
    // A unique database name that does not exist yet: the controller creates it.
    database = await createTestDatabase(settings);
    await database.drop();
    ledger = new ActivationLedger();
    coordinator = new ActivationStandIn(ledger.handlers);
    await coordinator.listen();
    httpPort = await freePort();
    metricsPort = await freePort();
    grpcAddress = `127.0.0.1:${await freePort()}`;
    child = spawn(process.execPath, [main], {
      env: {
        ...process.env,
        CARACAL_ROLLBACK_POSTGRES_URL: database.url,
        CARACAL_COORDINATOR_GRPC_ADDRESS: coordinator.address,
        CARACAL_ROLLBACK_HTTP_PORT: String(httpPort),
        CARACAL_ROLLBACK_GRPC_ADDRESS: grpcAddress,
        CARACAL_ROLLBACK_METRICS_PORT: String(metricsPort),
        CARACAL_ROLLBACK_WEBHOOK_TOKEN: token,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const health = createGrpcClient(HealthService, grpcAddress, { defaultTimeoutMs: 2_000 });
    try {
      await waitFor(
        async () => {
          if (child.exitCode !== null) throw new Error(`rollback-controller exited: ${output}`);
          const result = await health.check({ components: [] });
          const http = await fetch(`http://127.0.0.1:${httpPort}/v1/webhooks/alertmanager`, {
            method: 'POST',
          });
          return result.status === ServingStatus.SERVING && http.status === 401 ? true : undefined;
        },
        { timeoutMs: 30_000, description: 'rollback-controller to serve gRPC and HTTP' },
      );
    } finally {
      health.close();
    }
  });

  after(async () => {
    if (child !== undefined && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    await coordinator?.close();
    await database?.drop();
  });

  it('creates its database, rolls back on a webhook, counts it, and shuts down on SIGTERM', async () => {
    const zone = 'process-zone';
    ledger.seedZone(zone, ['process-v1', 'process-v2']);
    const response = await fetch(`http://127.0.0.1:${httpPort}/v1/webhooks/alertmanager`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(alertmanagerBody([testAlert(zone)])),
    });
    const text = await response.text();
    assert.equal(response.status, 200, text);
    assert.equal(ledger.activeVersion(zone), 'process-v1');

    const client = createGrpcClient(RollbackService, grpcAddress, { defaultTimeoutMs: 5_000 });
    try {
      const { rollbacks } = await client.listRollbacks({ zoneId: zone });
      assert.equal(rollbacks.length, 1);
      assert.equal(rollbacks[0]?.outcome, RollbackOutcome.ROLLED_BACK);
      assert.equal(rollbacks[0]?.trigger, ActivationTrigger.ROLLBACK_ALERT);
    } finally {
      client.close();
    }

    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    assert.match(metrics, /^caracal_rollbacks_total\{[^}]*trigger="alert"[^}]*\} 1$/m);

    const exited = new Promise<string>((resolve) =>
      child.once('exit', (code, signal) => resolve(signal ?? `code ${code}`)),
    );
    child.kill('SIGTERM');
    // Nest closes the app (servers, pool) and then re-raises the signal it handled.
    assert.equal(await exited, 'SIGTERM', output.slice(-2000));
    assert.doesNotMatch(output, /\bERROR\b/, output.slice(-2000));
  });
});
