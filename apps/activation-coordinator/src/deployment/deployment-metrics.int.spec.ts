import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { DeploymentService, DeploymentState } from '@caracal-deploy/contracts';
import { createGrpcClient, type GrpcClient } from '@caracal-deploy/grpc';
import {
  assertReachable,
  createTestDatabase,
  infraSettings,
  uniqueName,
  type TestDatabase,
} from '@caracal-deploy/testing';

import { bootCoordinator, type BootedCoordinator } from '../test-support/boot-coordinator.js';
import { RegistryFixtures, migrateRegistry } from '../test-support/registry-fixtures.js';

const settings = infraSettings();

const endedCount = (text: string, state: string): number =>
  Number(
    new RegExp(`^caracal_deployments_ended_total\\{[^}]*state="${state}"[^}]*\\} (\\d+)`, 'm').exec(
      text,
    )?.[1] ?? '0',
  );

// The coordinator in process against real PostgreSQL and Redis: what a deployment
// that ends shows on /metrics.
describe('deployment metrics', () => {
  let database: TestDatabase;
  let registry: RegistryFixtures;
  let coordinator: BootedCoordinator;
  let deployments: GrpcClient<typeof DeploymentService>;

  before(async () => {
    await assertReachable('postgres', settings);
    await assertReachable('redis', settings);
    database = await createTestDatabase(settings);
    await migrateRegistry(database.url);
    registry = await new RegistryFixtures(database.url).connect();
    coordinator = await bootCoordinator({
      CARACAL_POSTGRES_URL: database.url,
      CARACAL_REDIS_URL: settings.redisUrl,
    });
    deployments = createGrpcClient(DeploymentService, coordinator.address);
  });

  after(async () => {
    deployments?.close();
    await coordinator?.close();
    await registry?.close();
    await database?.drop();
  });

  it('counts a deployment that failed its pre-flight', async () => {
    const zone = uniqueName('lonely').replaceAll('_', '-');
    const version = await registry.version(zone);
    await registry.expectedCases(version);
    const before = endedCount(await (await fetch(coordinator.metricsUrl)).text(), 'failed');
    const { deployment } = await deployments.deploy({
      policySetVersionId: version.versionId,
      stages: [{ name: 'only', zones: [zone], regions: ['eu'], bakeSeconds: 1 }],
      options: {
        idempotencyKey: uniqueName('metrics'),
        actor: 'alice',
        reason: 'first rollout',
        acceptNoRollbackZones: [zone],
      },
    });
    assert.equal(deployment?.state, DeploymentState.FAILED);
    assert.deepEqual(
      deployment?.preflight.filter((c) => !c.passed).map((c) => c.check),
      ['replicas_ready'],
    );
    const text = await (await fetch(coordinator.metricsUrl)).text();
    assert.equal(endedCount(text, 'failed'), before + 1);
  });
});
