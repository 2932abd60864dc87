import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { workspaceRoot } from '@caracal-deploy/config';
import {
  HealthService,
  ServingStatus,
  VerdictState,
  VerificationService,
} from '@caracal-deploy/contracts';
import { createGrpcClient } from '@caracal-deploy/grpc';
import {
  assertReachable,
  createTestDatabase,
  createTestTopic,
  freePort,
  infraSettings,
  startServiceProcess,
  uniqueName,
  type ServiceProcess,
  type TestDatabase,
  type TestTopic,
} from '@caracal-deploy/testing';
import {
  ActivationStandIn,
  CannedActivations,
  convergedActivation,
} from '@caracal-deploy/stand-ins';

const settings = infraSettings();
const main = join(workspaceRoot(import.meta.url), 'apps/verification-aggregator/dist/main.js');

describe('verification-aggregator as a process (node dist/main.js with env)', () => {
  let database: TestDatabase;
  let topic: TestTopic;
  let canned: CannedActivations;
  let coordinator: ActivationStandIn;
  let service: ServiceProcess | undefined;
  let grpcAddress = '';
  let metricsPort = 0;

  before(async () => {
    await assertReachable('postgres', settings);
    await assertReachable('kafka', settings);
    // A unique database name that does not exist yet: the aggregator creates it.
    database = await createTestDatabase(settings);
    await database.drop();
    topic = await createTestTopic(settings.kafkaBrokers);
    canned = new CannedActivations();
    coordinator = new ActivationStandIn(canned.handlers);
    await coordinator.listen();
    grpcAddress = `127.0.0.1:${await freePort()}`;
    metricsPort = await freePort();
    const health = createGrpcClient(HealthService, grpcAddress, { defaultTimeoutMs: 2_000 });
    try {
      service = await startServiceProcess({
        name: 'verification-aggregator',
        main,
        env: {
          CARACAL_VERIFIER_POSTGRES_URL: database.url,
          CARACAL_VERIFIER_GRPC_ADDRESS: grpcAddress,
          CARACAL_VERIFIER_METRICS_PORT: String(metricsPort),
          CARACAL_COORDINATOR_GRPC_ADDRESS: coordinator.address,
          CARACAL_KAFKA_BROKERS: settings.kafkaBrokers.join(','),
          CARACAL_AUDIT_TOPIC: topic.topic,
        },
        ready: async () =>
          (await health.check({ components: [] })).status === ServingStatus.SERVING,
        timeoutMs: 60_000,
      });
    } finally {
      health.close();
    }
  });

  after(async () => {
    await service?.stop();
    await coordinator?.close();
    await topic?.delete();
    await database?.drop();
  });

  it('creates its database, serves VerificationService and exports the verdict gauge', async () => {
    const zoneId = uniqueName('zone').replaceAll('_', '-');
    const revision = randomBytes(32).toString('hex');
    canned.set(
      convergedActivation({
        activationId: `${zoneId}-activation`,
        zoneId,
        policySetVersionId: `${zoneId}-v1`,
        revision,
      }),
    );
    const client = createGrpcClient(VerificationService, grpcAddress);
    try {
      const { verdict } = await client.verifyStage({
        deploymentId: `${zoneId}-deployment`,
        stage: 'canary',
        zones: [{ zoneId, activationId: `${zoneId}-activation` }],
        policySetVersionId: `${zoneId}-v1`,
        revision,
        regions: ['eu'],
      });
      assert.equal(verdict?.state, VerdictState.PENDING, 'no probe has reported yet');
      assert.deepEqual(
        verdict?.rows.map((row) => [row.check, row.state]),
        [
          ['activation_accepted', VerdictState.PASS],
          ['replicas_converged', VerdictState.PASS],
          ['policy_age', VerdictState.PASS],
          ['canary_audit', VerdictState.PENDING],
          ['gateway_behaviour', VerdictState.PENDING],
        ],
      );
    } finally {
      client.close();
    }
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    assert.match(
      metrics,
      new RegExp(`^caracal_verification_verdict\\{[^}]*zone="${zoneId}"[^}]*\\} 0$`, 'm'),
    );
  });

  it('refuses to start on bad configuration, naming the key', () => {
    const result = spawnSync(process.execPath, [main], {
      env: {
        ...process.env,
        CARACAL_VERIFIER_GRPC_ADDRESS: grpcAddress,
        CARACAL_VERIFIER_METRICS_PORT: 'ninety',
      },
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(result.status, 1);
    assert.match(result.stdout + result.stderr, /CARACAL_VERIFIER_METRICS_PORT/);
  });
});
