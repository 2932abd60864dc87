import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import {
  ActivationService,
  ActivationTrigger,
  DeploymentService,
  DeploymentState,
  RollbackOutcome,
  RollbackService,
  StageState,
  ZoneState,
  type Deployment,
} from '@caracal-deploy/contracts';
import { createGrpcClient, type GrpcClient } from '@caracal-deploy/grpc';
import { readReplicaStatuses } from '@caracal-deploy/redis';
import {
  createTestDatabase,
  infraSettings,
  uniqueName,
  type TestDatabase,
} from '@caracal-deploy/testing';
import type { Redis } from 'ioredis';

import { freePort } from '../test-support/private-redis.js';
import { type SeededVersion } from '../test-support/registry-fixtures.js';
import { SpawnedCoordinator } from '../test-support/spawned-coordinator.js';
import { SpawnedRollbackController } from '../test-support/spawned-rollback-controller.js';
import { StandInVerifier } from '../test-support/stand-in-peers.test-support.js';
import {
  activateAndConverge,
  startRegistryHarness,
  zoneName,
  type RegistryHarness,
} from '../test-support/registry-harness.test-support.js';

const settings = infraSettings();

// The coordinator and the real rollback controller run as their processes,
// with two real STS replica processes (eu, us); only the verification
// aggregator is stood in for (its verdicts are scripted).
describe('staged deployments with the real rollback controller', () => {
  const canaryZone = zoneName('canary');
  const prodZone = zoneName('prod');
  const names = ['cv1', 'cv2', 'cv3', 'pv1', 'pv2', 'pv3'];
  let versions = new Map<string, SeededVersion>();
  let harness: RegistryHarness | undefined;
  let database: TestDatabase;
  let rollbackDatabase: TestDatabase;
  let redis: Redis;
  let verifier: StandInVerifier;
  let controller: SpawnedRollbackController;
  let coordinator: SpawnedCoordinator;
  let deployments: GrpcClient<typeof DeploymentService>;
  let activations: GrpcClient<typeof ActivationService>;
  let rollbacks: GrpcClient<typeof RollbackService>;

  const version = (name: string) => versions.get(name)!;

  const untilEnd = async (deploymentId: string): Promise<Deployment> => {
    let last: Deployment | undefined;
    for await (const message of deployments.watchDeployment(
      { deploymentId },
      { timeoutMs: 120_000 },
    ))
      last = message.deployment;
    assert.ok(last, 'the watch sent nothing');
    return last;
  };

  const deploy = (canary: string, prod: string) =>
    deployments.deploy({
      policySetVersionId: version(canary).versionId,
      stages: [
        { name: 'canary', zones: [canaryZone], regions: ['eu'], bakeSeconds: 1 },
        { name: 'prod', zones: [prodZone], regions: ['eu', 'us'], bakeSeconds: 1 },
      ],
      zoneVersions: [{ zoneId: prodZone, policySetVersionId: version(prod).versionId }],
      options: { idempotencyKey: uniqueName('e2e'), actor: 'pipeline', reason: 'release' },
    });

  const serving = async (zoneId: string) =>
    (await activations.getActiveBinding({ zoneId })).binding?.policySetVersionId ?? '';

  before(async () => {
    harness = await startRegistryHarness(names, ['postgres', 'redis', 'kafka', 'opa']);
    ({ database, redis } = harness);
    rollbackDatabase = await createTestDatabase(settings);
    versions = await harness.seedBundles((name) => (name.startsWith('c') ? canaryZone : prodZone));
    verifier = new StandInVerifier();
    const address = `127.0.0.1:${await freePort()}`;
    controller = await SpawnedRollbackController.start(rollbackDatabase.url, address);
    coordinator = await SpawnedCoordinator.start({
      CARACAL_POSTGRES_URL: database.url,
      CARACAL_REDIS_URL: settings.redisUrl,
      CARACAL_COORDINATOR_GRPC_ADDRESS: address,
      CARACAL_COORDINATOR_METRICS_PORT: '0',
      CARACAL_VERIFIER_GRPC_ADDRESS: await verifier.listen(),
      CARACAL_ROLLBACK_GRPC_ADDRESS: controller.address,
    });
    deployments = createGrpcClient(DeploymentService, address);
    activations = createGrpcClient(ActivationService, address);
    rollbacks = createGrpcClient(RollbackService, controller.address);
    await harness.startRegionReplicas([canaryZone, prodZone], address);
    for (const name of ['cv1', 'pv1'])
      await activateAndConverge(activations, version(name), '', 'first version');
  });

  after(async () => {
    deployments?.close();
    activations?.close();
    rollbacks?.close();
    await coordinator?.kill();
    await controller?.stop();
    await harness?.close();
    await verifier?.close();
    await rollbackDatabase?.drop();
  });

  it('passes a good deployment, then rolls a bad one back to it in stage 1 without touching stage 2', async () => {
    verifier.decide = () => 'pass';
    const good = await deploy('cv2', 'pv2');
    const goodEnd = await untilEnd(good.deployment!.deploymentId);
    assert.equal(goodEnd.state, DeploymentState.SUCCEEDED, goodEnd.failureReason);
    assert.equal(await serving(canaryZone), version('cv2').versionId);
    assert.equal(await serving(prodZone), version('pv2').versionId);

    verifier.decide = (request) => (request.stage === 'canary' ? 'fail' : 'pass');
    const bad = await deploy('cv3', 'pv3');
    assert.equal(bad.deployment?.state, DeploymentState.RUNNING, bad.deployment?.failureReason);
    const badEnd = await untilEnd(bad.deployment.deploymentId);
    assert.equal(badEnd.state, DeploymentState.ROLLED_BACK, badEnd.failureReason);
    assert.deepEqual(
      badEnd.stages.map((s) => s.state),
      [StageState.FAILED, StageState.SKIPPED],
    );
    assert.match(badEnd.failureReason, /canary_audit fail/);
    const zone = badEnd.stages[0]!.zones[0]!;
    assert.equal(zone.state, ZoneState.ROLLED_BACK);
    // The controller went back to the version the good deployment verified.
    assert.equal(zone.rolledBackToPolicySetVersionId, version('cv2').versionId);
    assert.equal(await serving(canaryZone), version('cv2').versionId);
    assert.equal(await serving(prodZone), version('pv2').versionId);
    for (const replica of await readReplicaStatuses(redis, canaryZone))
      assert.equal(replica.revision, version('cv2').manifestSha256);

    const { rollbacks: recorded } = await rollbacks.listRollbacks({ zoneId: canaryZone });
    assert.deepEqual(
      recorded.map((r) => [
        r.outcome,
        r.trigger,
        r.fromPolicySetVersionId,
        r.toPolicySetVersionId,
        r.rollbackId === zone.rollbackId,
      ]),
      [
        [
          RollbackOutcome.ROLLED_BACK,
          ActivationTrigger.ROLLBACK_VERDICT,
          version('cv3').versionId,
          version('cv2').versionId,
          true,
        ],
      ],
    );
    assert.equal((await rollbacks.listRollbacks({ zoneId: prodZone })).rollbacks.length, 0);
  });
});
