import 'reflect-metadata';
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import type { INestApplication } from '@nestjs/common';
import { workspaceRoot } from '@caracal-deploy/config';
import { ActivationTrigger, RollbackOutcome, RollbackService } from '@caracal-deploy/contracts';
import { GrpcServerHost, createGrpcClient, type GrpcClient } from '@caracal-deploy/grpc';
import {
  assertReachable,
  createTestDatabase,
  infraSettings,
  waitFor,
  type TestDatabase,
} from '@caracal-deploy/testing';
import { ActivationLedger, ActivationStandIn } from '@caracal-deploy/stand-ins';

import { loadRollbackConfig } from './config/rollback.config.js';
import { createRollbackApp } from './rollback-app.js';

const settings = infraSettings();
const root = workspaceRoot(import.meta.url);
/** The webhook URL the checked-in config names; each test instance points it at the test app. */
const checkedInWebhook = 'http://127.0.0.1:18090/v1/webhooks/alertmanager';

function alertmanagerBinary(): string {
  for (const name of ['prometheus-alertmanager', 'alertmanager']) {
    try {
      return execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim();
    } catch {
      // try the next name
    }
  }
  throw new Error(
    'no Alertmanager binary (prometheus-alertmanager) on PATH; run `npm run infra -- up` to install it',
  );
}

/** A port nobody listens on right now (Alertmanager binds it next). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** One Alertmanager process started by the test, running deploy/alertmanager/alertmanager.yml. */
interface TestAlertmanager {
  readonly url: string;
  stop(): Promise<void>;
}

/**
 * Starts a real, unclustered Alertmanager with the checked-in config (its
 * webhook URL pointed at `webhookUrl`, its bearer token untouched) on a free port.
 */
async function startAlertmanager(dir: string, webhookUrl: string): Promise<TestAlertmanager> {
  const port = await freePort();
  const config = join(dir, `alertmanager-${port}.yml`);
  writeFileSync(
    config,
    readFileSync(join(root, 'deploy/alertmanager/alertmanager.yml'), 'utf8').replaceAll(
      checkedInWebhook,
      webhookUrl,
    ),
  );
  let output = '';
  const child: ChildProcess = spawn(
    alertmanagerBinary(),
    [
      `--config.file=${config}`,
      `--storage.path=${join(dir, `data-${port}`)}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--cluster.listen-address=',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  };
  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`alertmanager exited: ${output.slice(-2000)}`);
        return (await fetch(`${url}/-/ready`)).ok ? true : undefined;
      },
      { timeoutMs: 30_000, description: `alertmanager at ${url} to be ready` },
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, stop };
}

/** `alertmanager_notifications_total` (or `_failed_total`) of the webhook integration. */
async function webhookNotifications(url: string, failed: boolean): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const name = failed
    ? 'alertmanager_notifications_failed_total'
    : 'alertmanager_notifications_total';
  const match = new RegExp(`^${name}\\{[^}]*integration="webhook"[^}]*\\} (\\d+)$`, 'm').exec(text);
  return match ? Number(match[1]) : 0;
}

describe('rollback-controller behind a real HA pair of Alertmanagers (deploy/alertmanager config)', () => {
  let database: TestDatabase;
  let ledger: ActivationLedger;
  let coordinator: ActivationStandIn;
  let app: INestApplication;
  let rollbacks: GrpcClient<typeof RollbackService>;
  const alertmanagers: TestAlertmanager[] = [];
  let dir = '';

  before(async () => {
    await assertReachable('postgres', settings);
    database = await createTestDatabase(settings);
    ledger = new ActivationLedger();
    coordinator = new ActivationStandIn(ledger.handlers);
    await coordinator.listen();
    // The default webhook token: the one the checked-in Alertmanager config sends.
    app = await createRollbackApp(
      loadRollbackConfig({
        CARACAL_ROLLBACK_POSTGRES_URL: database.url,
        CARACAL_COORDINATOR_GRPC_ADDRESS: coordinator.address,
        CARACAL_ROLLBACK_HTTP_PORT: '0',
        CARACAL_ROLLBACK_GRPC_ADDRESS: '127.0.0.1:0',
        CARACAL_ROLLBACK_METRICS_PORT: '0',
      }),
      { logger: false },
    );
    await app.listen(0, '127.0.0.1');
    const { port } = (app.getHttpServer() as Server).address() as AddressInfo;
    rollbacks = createGrpcClient(RollbackService, `127.0.0.1:${app.get(GrpcServerHost).port}`);
    dir = mkdtempSync(join(tmpdir(), 'rollback-alertmanager-'));
    const webhook = `http://127.0.0.1:${port}/v1/webhooks/alertmanager`;
    alertmanagers.push(await startAlertmanager(dir, webhook));
    alertmanagers.push(await startAlertmanager(dir, webhook));
  });

  after(async () => {
    for (const alertmanager of alertmanagers) await alertmanager.stop();
    rollbacks?.close();
    await app?.close();
    await coordinator?.close();
    await database?.drop();
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  it('rolls the zone back once when both Alertmanagers deliver the same firing alert', async () => {
    const zone = 'am-pair-zone';
    ledger.seedZone(zone, ['am-pair-v1', 'am-pair-v2']);
    // What Prometheus does for an HA pair: the same alert, same start, to both.
    const alert = [
      {
        labels: {
          alertname: 'CaracalStsPolicyStale',
          severity: 'critical',
          zone,
          policy_set_version_id: 'am-pair-v2',
        },
        annotations: { summary: 'STS policy age over threshold' },
        startsAt: new Date().toISOString(),
        generatorURL: 'http://127.0.0.1:19090/graph',
      },
    ];
    for (const alertmanager of alertmanagers) {
      const response = await fetch(`${alertmanager.url}/api/v2/alerts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(alert),
      });
      assert.equal(response.status, 200, await response.text());
    }

    for (const alertmanager of alertmanagers) {
      await waitFor(
        async () => ((await webhookNotifications(alertmanager.url, false)) >= 1 ? true : undefined),
        { timeoutMs: 30_000, description: `${alertmanager.url} to deliver the notification` },
      );
      assert.equal(
        await webhookNotifications(alertmanager.url, true),
        0,
        `${alertmanager.url}: the receiver refused a delivery (bearer token or payload)`,
      );
    }

    const { rollbacks: records } = await rollbacks.listRollbacks({ zoneId: zone });
    assert.equal(records.length, 1);
    assert.equal(records[0]?.outcome, RollbackOutcome.ROLLED_BACK);
    assert.equal(records[0]?.trigger, ActivationTrigger.ROLLBACK_ALERT);
    assert.equal(records[0]?.triggerDetails['alertname'], 'CaracalStsPolicyStale');
    assert.match(records[0]?.triggerDetails['group_key'] ?? '', /zone="am-pair-zone"/);
    assert.equal(ledger.activeVersion(zone), 'am-pair-v1');
    assert.equal(ledger.activateCalls.filter((call) => call.zoneId === zone).length, 1);
  });
});
