import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import {
  ActivationService,
  ActivationTrigger,
  DeploymentService,
  DeploymentState,
  StageState,
  ZoneState,
  type DeployRequest,
  type Deployment,
  type DeploymentEvent,
} from '@caracal-deploy/contracts';
import type { MessageInitShape } from '@bufbuild/protobuf';
import type { DeployRequestSchema } from '@caracal-deploy/contracts';
import { DeployError, UnavailableError } from '@caracal-deploy/errors';
import { createGrpcClient, type GrpcClient } from '@caracal-deploy/grpc';
import { readReplicaStatuses } from '@caracal-deploy/redis';
import { infraSettings, uniqueName, type TestDatabase } from '@caracal-deploy/testing';
import type { Redis } from 'ioredis';

import { freePort } from '../test-support/private-redis.js';
import { type RegistryFixtures, type SeededVersion } from '../test-support/registry-fixtures.js';
import { SpawnedCoordinator } from '../test-support/spawned-coordinator.js';
import {
  StandInRollbackController,
  StandInVerifier,
} from '../test-support/stand-in-peers.test-support.js';
import {
  activateAndConverge as activateAndConvergeWith,
  startRegistryHarness,
  zoneName,
  type RegistryHarness,
} from '../test-support/registry-harness.test-support.js';

const settings = infraSettings();

type DeployInit = MessageInitShape<typeof DeployRequestSchema>;

// The coordinator runs as its real process against real PostgreSQL (admin-api's
// registry schema) and Redis, with two real STS replica processes (eu, us)
// serving every zone of the spec; the verification aggregator and the rollback
// controller are stand-ins at their gRPC boundaries (the verifier's verdicts
// are scripted; the rollback controller rolls back through the coordinator).
describe('staged deployments against real PostgreSQL, Redis and STS replicas', () => {
  const zones = {
    g1: zoneName('g1'),
    g2: zoneName('g2'),
    p1: zoneName('p1'),
    p2: zoneName('p2'),
    r1: zoneName('r1'),
    r2: zoneName('r2'),
    c1: zoneName('c1'),
    c2: zoneName('c2'),
    a1: zoneName('a1'),
    d1: zoneName('d1'),
    e1: zoneName('e1'),
  };
  const bundleNames = [
    'g1v1',
    'g1v2',
    'g1v3',
    'g2v1',
    'g2v2',
    'g2v3',
    'r1v1',
    'r2v1',
    'c1v1',
    'c1v2',
    'c2v1',
    'c2v2',
    'a1v1',
    'a1v2',
    'a1v3',
    'd1v1',
    'd1v2',
    'e1v1',
    'e1v2',
  ];
  let v = new Map<string, SeededVersion>();
  let harness: RegistryHarness | undefined;
  let database: TestDatabase;
  let registry: RegistryFixtures;
  let redis: Redis;
  let verifier: StandInVerifier;
  let rollback: StandInRollbackController;
  let coordinator: SpawnedCoordinator;
  let coordinatorEnv: Record<string, string>;
  let deployments: GrpcClient<typeof DeploymentService>;
  let activations: GrpcClient<typeof ActivationService>;

  const version = (name: string): SeededVersion => {
    const found = v.get(name);
    if (!found) throw new Error(`no version ${name}`);
    return found;
  };

  const activateAndConverge = (seeded: SeededVersion, expected: string) =>
    activateAndConvergeWith(activations, seeded, expected, 'set up the zone');

  const deploy = (request: DeployInit) =>
    deployments.deploy({
      ...request,
      options: {
        idempotencyKey: uniqueName('deploy'),
        actor: 'alice',
        reason: 'roll out the change',
        ...request.options,
      },
    } as DeployRequest);

  /** Every event until the deployment ends, and the deployment as it ended. */
  const untilEnd = async (deploymentId: string) => {
    const events: DeploymentEvent[] = [];
    let last: Deployment | undefined;
    for await (const message of deployments.watchDeployment(
      { deploymentId },
      { timeoutMs: 120_000 },
    )) {
      events.push(message.event!);
      last = message.deployment;
    }
    assert.ok(last, 'the watch sent nothing');
    return { events, deployment: last };
  };

  /** Watches until an event matches; returns it. */
  const untilEvent = async (deploymentId: string, match: (event: DeploymentEvent) => boolean) => {
    for await (const message of deployments.watchDeployment(
      { deploymentId },
      { timeoutMs: 120_000 },
    ))
      if (match(message.event!)) return message;
    throw new Error(`deployment ${deploymentId} ended without the awaited event`);
  };

  const kinds = (events: readonly DeploymentEvent[], stage?: string) =>
    events.filter((e) => stage === undefined || e.stage === stage).map((e) => e.kind);

  const servingVersion = async (zoneId: string) =>
    (await activations.getActiveBinding({ zoneId })).binding?.policySetVersionId ?? '';

  before(async () => {
    harness = await startRegistryHarness(bundleNames, ['postgres', 'redis', 'kafka', 'opa']);
    ({ database, registry, redis } = harness);
    v = await harness.seedBundles((name) => zones[name.slice(0, 2) as keyof typeof zones]);
    verifier = new StandInVerifier();
    rollback = new StandInRollbackController();
    const address = `127.0.0.1:${await freePort()}`;
    coordinatorEnv = {
      CARACAL_POSTGRES_URL: database.url,
      CARACAL_REDIS_URL: settings.redisUrl,
      CARACAL_COORDINATOR_GRPC_ADDRESS: address,
      CARACAL_COORDINATOR_METRICS_PORT: '0',
      CARACAL_COORDINATOR_STALL_AFTER_MS: '30000',
      CARACAL_COORDINATOR_DEPLOYMENT_LEASE_MS: '2000',
      CARACAL_COORDINATOR_VERDICT_GRACE_MS: '1000',
      CARACAL_COORDINATOR_ROLLBACK_ATTEMPTS: '3',
      CARACAL_VERIFIER_GRPC_ADDRESS: await verifier.listen(),
      CARACAL_ROLLBACK_GRPC_ADDRESS: await rollback.listen(),
    };
    rollback.useCoordinator(address);
    coordinator = await SpawnedCoordinator.start(coordinatorEnv);
    deployments = createGrpcClient(DeploymentService, address);
    activations = createGrpcClient(ActivationService, address);
    // Every zone but p2 (the zone without replicas) is served by both replicas.
    const served = Object.values(zones).filter((zone) => zone !== zones.p2);
    await harness.startRegionReplicas(served, address);
  });

  after(async () => {
    deployments?.close();
    activations?.close();
    await coordinator?.kill();
    await harness?.close();
    await verifier?.close();
    await rollback?.close();
  });

  it('runs a good two-stage deployment stage by stage, and its versions become known good', async () => {
    await activateAndConverge(version('g1v1'), '');
    await activateAndConverge(version('g2v1'), '');
    verifier.decide = () => 'pass';
    const { deployment, replayed } = await deploy({
      policySetVersionId: version('g1v2').versionId,
      stages: [
        { name: 'canary', zones: [zones.g1], regions: ['eu'], bakeSeconds: 1 },
        { name: 'prod', zones: [zones.g2], regions: ['eu', 'us'], bakeSeconds: 1 },
      ],
      zoneVersions: [{ zoneId: zones.g2, policySetVersionId: version('g2v2').versionId }],
    });
    assert.equal(replayed, false);
    assert.equal(deployment?.state, DeploymentState.RUNNING, deployment?.failureReason);
    assert.deepEqual(
      deployment?.preflight.map((c) => `${c.check}@${c.zoneId}:${c.passed}`),
      [zones.g1, zones.g2].flatMap((zone) => [
        `zone_version@${zone}:true`,
        `version_validated@${zone}:true`,
        `expected_cases_passed@${zone}:true`,
        `no_other_deployment@${zone}:true`,
        `replicas_ready@${zone}:true`,
        `rollback_version@${zone}:true`,
      ]),
    );
    const ready = deployment?.preflight.find((c) => c.check === 'replicas_ready');
    assert.match(ready?.evidence ?? '', /2 live replicas serve/);

    const { events, deployment: ended } = await untilEnd(deployment.deploymentId);
    assert.equal(ended.state, DeploymentState.SUCCEEDED, ended.failureReason);
    assert.deepEqual(
      ended.stages.map((s) => [s.name, s.state, s.zones.map((z) => z.state)]),
      [
        ['canary', StageState.PASSED, [ZoneState.PASSED]],
        ['prod', StageState.PASSED, [ZoneState.PASSED]],
      ],
    );
    const canary = kinds(events, 'canary');
    for (const kind of [
      'stage_started',
      'zone_activated',
      'zone_converged',
      'stage_verifying',
      'verdict',
      'stage_passed',
    ])
      assert.ok(canary.includes(kind), `canary events ${canary.join(', ')} lack ${kind}`);
    const all = events.map((e) => `${e.kind}:${e.stage}`);
    assert.ok(
      all.indexOf('stage_passed:canary') < all.indexOf('stage_started:prod'),
      `prod started before canary passed: ${all.join(', ')}`,
    );
    assert.equal(events.at(-1)?.kind, 'deployment_ended');
    // A watch resumes after a seen event: only the later ones follow.
    const middle = events[Math.floor(events.length / 2)]!;
    const resumed: string[] = [];
    for await (const message of deployments.watchDeployment(
      { deploymentId: deployment.deploymentId, afterSeq: middle.seq },
      { timeoutMs: 30_000 },
    ))
      resumed.push(message.event!.seq.toString());
    assert.deepEqual(
      resumed,
      events.filter((e) => e.seq > middle.seq).map((e) => e.seq.toString()),
    );
    const converged = events.find((e) => e.kind === 'zone_converged' && e.zoneId === zones.g2);
    assert.equal(converged?.details['serving'], '2');
    // The verifier was asked about each stage's zone, activation, revision and regions.
    const [asked] = verifier.requestsFor(deployment.deploymentId, 'prod');
    assert.deepEqual(asked?.regions, ['eu', 'us']);
    assert.equal(asked?.revision, version('g2v2').manifestSha256);
    assert.equal(asked?.zones[0]?.activationId, ended.stages[1]?.zones[0]?.activationId);
    assert.equal(asked?.gates?.bakeSeconds, 1);
    assert.equal(await servingVersion(zones.g1), version('g1v2').versionId);
    assert.equal(await servingVersion(zones.g2), version('g2v2').versionId);
    const { activations: history } = await activations.listActivations({ zoneId: zones.g1 });
    assert.equal(history[0]?.activation?.trigger, ActivationTrigger.DEPLOYMENT);
  });

  it('rolls back stage 1 on a failed verdict to the version that passed, and never touches stage 2', async () => {
    verifier.decide = (request) => (request.stage === 'canary' ? 'fail' : 'pass');
    const g2Before = (await activations.listActivations({ zoneId: zones.g2 })).activations.length;
    const { deployment } = await deploy({
      policySetVersionId: version('g1v3').versionId,
      stages: [
        { name: 'canary', zones: [zones.g1], regions: ['eu'], bakeSeconds: 1 },
        { name: 'prod', zones: [zones.g2], regions: ['eu', 'us'], bakeSeconds: 1 },
      ],
      zoneVersions: [{ zoneId: zones.g2, policySetVersionId: version('g2v3').versionId }],
    });
    assert.equal(deployment?.state, DeploymentState.RUNNING, deployment?.failureReason);
    const { events, deployment: ended } = await untilEnd(deployment.deploymentId);
    assert.equal(ended.state, DeploymentState.ROLLED_BACK, ended.failureReason);
    assert.match(ended.failureReason, /canary_audit fail/);
    assert.match(ended.failureReason, /expected allow, gateway and audit say deny/);
    assert.deepEqual(
      ended.stages.map((s) => s.state),
      [StageState.FAILED, StageState.SKIPPED],
    );
    const [g1] = ended.stages[0]!.zones;
    assert.equal(g1?.state, ZoneState.ROLLED_BACK);
    // The last known good version is the one the previous deployment verified.
    assert.equal(g1?.rolledBackToPolicySetVersionId, version('g1v2').versionId);
    assert.equal(
      ended.stages[0]?.verdict?.rows.find((r) => r.check === 'canary_audit')?.evidence,
      'eu: probe read-orders expected allow, gateway and audit say deny',
    );
    assert.equal(ended.stages[1]?.zones[0]?.activationId, '');
    assert.ok(kinds(events).includes('rollback_started'));
    assert.ok(kinds(events).includes('zone_rolled_back'));
    assert.equal(kinds(events, 'prod').length, 0, 'stage prod has events');

    const asked = rollback.requests.filter((r) => r.actor === `deployment:${ended.deploymentId}`);
    assert.deepEqual(
      asked.map((r) => [r.zoneId, r.expectedActiveVersionId, r.trigger, r.waitForConvergence]),
      [[zones.g1, version('g1v3').versionId, ActivationTrigger.ROLLBACK_VERDICT, true]],
    );
    assert.equal(await servingVersion(zones.g1), version('g1v2').versionId);
    assert.equal(await servingVersion(zones.g2), version('g2v2').versionId);
    assert.equal(
      (await activations.listActivations({ zoneId: zones.g2 })).activations.length,
      g2Before,
    );
    // Every live replica serves the rolled-back revision.
    const replicas = await readReplicaStatuses(redis, zones.g1);
    assert.equal(replicas.length, 2);
    for (const replica of replicas) assert.equal(replica.revision, version('g1v2').manifestSha256);
    // The failed version is never a rollback target.
    const known = await activations.getLastKnownGood({ zoneId: zones.g1 });
    assert.notEqual(known.lastKnownGood?.policySetVersionId, version('g1v3').versionId);
  });

  it('fails pre-flight without touching a zone: unvalidated version, failed cases, no replicas, no rollback version', async () => {
    const unvalidated = await registry.version(zones.p1, { verdict: 'none' });
    await registry.expectedCases(unvalidated);
    const failingCases = await registry.version(zones.p1);
    await registry.expectedCases(failingCases, { failed: 1 });
    const good = await registry.version(zones.p1);
    await registry.expectedCases(good);
    const noReplicas = await registry.version(zones.p2);
    await registry.expectedCases(noReplicas);

    const cases: [SeededVersion, string[], string, RegExp][] = [
      [unvalidated, [zones.p1], 'version_validated', /has not been validated/],
      [failingCases, [zones.p1], 'expected_cases_passed', /1 failed/],
      [noReplicas, [zones.p2], 'replicas_ready', /no live STS replica/],
      [good, [], 'rollback_version', /no version to roll back to/],
    ];
    for (const [seeded, accepted, check, evidence] of cases) {
      const { deployment } = await deploy({
        policySetVersionId: seeded.versionId,
        stages: [{ name: 'only', zones: [seeded.zoneId], regions: ['eu'], bakeSeconds: 1 }],
        options: { acceptNoRollbackZones: accepted },
      });
      assert.equal(deployment?.state, DeploymentState.FAILED, `${check} should fail pre-flight`);
      const failed = deployment.preflight.filter((c) => !c.passed);
      assert.deepEqual(
        failed.map((c) => c.check),
        [check],
      );
      assert.match(failed[0]!.evidence, evidence);
      assert.match(deployment.failureReason, new RegExp(`pre-flight failed: ${check}`));
      assert.equal(deployment.stages[0]?.state, StageState.SKIPPED);
      const { events } = await untilEnd(deployment.deploymentId);
      assert.deepEqual(new Set(kinds(events)), new Set(['preflight_check', 'deployment_ended']));
    }
    for (const zone of [zones.p1, zones.p2])
      assert.equal((await activations.listActivations({ zoneId: zone })).activations.length, 0);
    const listed = await deployments.listDeployments({ zoneId: zones.p1 });
    assert.equal(listed.deployments.length, 3);
    assert.ok(listed.deployments.every((d) => d.state === DeploymentState.FAILED));
    const paged = await deployments.listDeployments({ zoneId: zones.p1, pageSize: 2 });
    assert.equal(paged.deployments.length, 2);
    const rest = await deployments.listDeployments({
      zoneId: zones.p1,
      pageSize: 2,
      pageToken: paged.nextPageToken,
    });
    assert.deepEqual(
      [...paged.deployments, ...rest.deployments].map((d) => d.deploymentId),
      listed.deployments.map((d) => d.deploymentId),
    );
    assert.equal(rest.nextPageToken, '');
    await assert.rejects(
      deployments.getDeployment({ deploymentId: '00000000-0000-4000-8000-000000000000' }),
      (error: unknown) => error instanceof DeployError && error.code === 'not_found',
    );
    await assert.rejects(
      deployments.getDeployment({ deploymentId: 'dep-1' }),
      (error: unknown) =>
        error instanceof DeployError &&
        error.code === 'invalid_argument' &&
        /deployment_id/.test(error.message),
    );
  });

  it('is idempotent, pauses before the next stage, and resumes after a coordinator restart mid-bake', async () => {
    verifier.decide = (request) => (request.stage === 'one' ? 'hold' : 'pass');
    const request: DeployInit = {
      policySetVersionId: version('r1v1').versionId,
      stages: [
        { name: 'one', zones: [zones.r1], regions: ['eu'], bakeSeconds: 1 },
        { name: 'two', zones: [zones.r2], regions: ['us'], bakeSeconds: 1 },
      ],
      zoneVersions: [{ zoneId: zones.r2, policySetVersionId: version('r2v1').versionId }],
      options: {
        idempotencyKey: uniqueName('restart'),
        actor: 'alice',
        reason: 'first rollout',
        acceptNoRollbackZones: [zones.r1, zones.r2],
      },
    };
    const first = await deploy(request);
    const id = first.deployment!.deploymentId;
    const again = await deploy(request);
    assert.equal(again.replayed, true);
    assert.equal(again.deployment?.deploymentId, id);
    await assert.rejects(
      deploy({ ...request, options: { ...request.options, reason: 'another rollout' } }),
      (error: unknown) =>
        error instanceof DeployError &&
        error.code === 'invalid_argument' &&
        /options\.idempotency_key/.test(JSON.stringify(error.violations)),
    );

    await untilEvent(id, (e) => e.kind === 'stage_verifying' && e.stage === 'one');
    const paused = await deployments.pauseDeployment({
      deploymentId: id,
      actor: 'bob',
      reason: 'watch dashboards',
    });
    assert.equal(paused.deployment?.state, DeploymentState.PAUSED);
    assert.equal(paused.deployment?.pausedBy, 'bob');
    // A second deployment to a zone with one in progress fails pre-flight.
    const competing = await deploy({
      ...request,
      options: { ...request.options, idempotencyKey: uniqueName('competing') },
    });
    assert.equal(competing.deployment?.state, DeploymentState.FAILED);
    assert.deepEqual(
      competing.deployment?.preflight.filter((c) => !c.passed).map((c) => [c.check, c.zoneId]),
      [
        ['no_other_deployment', zones.r1],
        ['no_other_deployment', zones.r2],
      ],
    );

    // Killed mid-bake: no shutdown hook releases the lease; the next process takes over after it.
    const askedBefore = verifier.requestsFor(id, 'one').length;
    await coordinator.kill();
    coordinator = await SpawnedCoordinator.start(coordinatorEnv);
    verifier.release(id, 'one', 'pass');
    const passed = await untilEvent(id, (e) => e.kind === 'stage_passed' && e.stage === 'one');
    assert.ok(
      verifier.requestsFor(id, 'one').length > askedBefore,
      'the restarted coordinator did not ask the verifier again',
    );
    assert.equal(passed.deployment?.state, DeploymentState.PAUSED);
    const held = (await deployments.getDeployment({ deploymentId: id })).deployment!;
    assert.equal(held.state, DeploymentState.PAUSED);
    assert.equal(held.stages[1]?.state, StageState.PENDING);
    assert.equal(await servingVersion(zones.r2), '');
    // The resumed run replayed its activation instead of making a second one.
    assert.equal((await activations.listActivations({ zoneId: zones.r1 })).activations.length, 1);

    const resumed = await deployments.resumeDeployment({
      deploymentId: id,
      actor: 'bob',
      reason: 'looks fine',
    });
    assert.equal(resumed.deployment?.state, DeploymentState.RUNNING);
    await assert.rejects(
      deployments.resumeDeployment({ deploymentId: id, actor: 'bob', reason: 'twice' }),
      (error: unknown) => error instanceof DeployError && error.code === 'failed_precondition',
    );
    const { events, deployment: ended } = await untilEnd(id);
    assert.equal(ended.state, DeploymentState.SUCCEEDED, ended.failureReason);
    assert.ok(kinds(events).includes('paused') && kinds(events).includes('resumed'));
    assert.equal(await servingVersion(zones.r2), version('r2v1').versionId);
  });

  it('rolls back the other touched zones when a stage zone changes under the deployment', async () => {
    await activateAndConverge(version('c1v1'), '');
    await activateAndConverge(version('c2v1'), '');
    verifier.decide = (request) => (request.stage === 'two' ? 'hold' : 'pass');
    const { deployment } = await deploy({
      policySetVersionId: version('c1v2').versionId,
      stages: [
        { name: 'one', zones: [zones.c1], regions: ['eu'], bakeSeconds: 1 },
        { name: 'two', zones: [zones.c2], regions: ['eu'], bakeSeconds: 1 },
      ],
      zoneVersions: [{ zoneId: zones.c2, policySetVersionId: version('c2v2').versionId }],
    });
    const id = deployment!.deploymentId;
    await untilEvent(id, (e) => e.kind === 'stage_verifying' && e.stage === 'two');
    // An alert-driven rollback of c1, outside the deployment.
    await activations.activate({
      zoneId: zones.c1,
      policySetVersionId: version('c1v1').versionId,
      expectedActiveVersionId: version('c1v2').versionId,
      idempotencyKey: uniqueName('alert'),
      reason: 'error rate alert',
      actor: 'alertmanager',
      trigger: ActivationTrigger.ROLLBACK_ALERT,
    });
    const { events, deployment: ended } = await untilEnd(id);
    assert.equal(ended.state, DeploymentState.ROLLED_BACK, ended.failureReason);
    assert.match(
      ended.failureReason,
      new RegExp(`zone "${zones.c1}" changed under the deployment`),
    );
    assert.ok(kinds(events).includes('zone_changed_under_deployment'));
    assert.equal(ended.stages[0]?.zones[0]?.state, ZoneState.ROLLBACK_SKIPPED);
    assert.equal(ended.stages[1]?.zones[0]?.state, ZoneState.ROLLED_BACK);
    const asked = rollback.requests.filter((r) => r.actor === `deployment:${id}`);
    assert.deepEqual(
      asked.map((r) => r.zoneId),
      [zones.c2],
    );
    assert.equal(await servingVersion(zones.c2), version('c2v1').versionId);
    assert.equal(await servingVersion(zones.c1), version('c1v1').versionId);
  });

  it('aborts leaving activated zones as they are, or rolls them back when asked', async () => {
    await activateAndConverge(version('a1v1'), '');
    verifier.decide = () => 'hold';
    const stages = [{ name: 'one', zones: [zones.a1], regions: ['eu'], bakeSeconds: 1 }];
    const kept = await deploy({ policySetVersionId: version('a1v2').versionId, stages });
    const keptId = kept.deployment!.deploymentId;
    await untilEvent(keptId, (e) => e.kind === 'stage_verifying');
    const asked = await deployments.abortDeployment({
      deploymentId: keptId,
      actor: 'carol',
      reason: 'wrong change window',
      rollBack: false,
    });
    assert.notEqual(asked.deployment?.state, DeploymentState.SUCCEEDED);
    const keptEnd = await untilEnd(keptId);
    assert.equal(keptEnd.deployment.state, DeploymentState.ABORTED);
    assert.match(keptEnd.deployment.failureReason, /aborted by carol: wrong change window/);
    assert.ok(kinds(keptEnd.events).includes('abort_requested'));
    assert.equal(await servingVersion(zones.a1), version('a1v2').versionId);
    await assert.rejects(
      deployments.abortDeployment({ deploymentId: keptId, actor: 'carol', reason: 'again' }),
      (error: unknown) => error instanceof DeployError && error.code === 'failed_precondition',
    );

    const rolled = await deploy({ policySetVersionId: version('a1v3').versionId, stages });
    assert.equal(
      rolled.deployment?.state,
      DeploymentState.RUNNING,
      rolled.deployment?.failureReason,
    );
    const rolledId = rolled.deployment.deploymentId;
    await untilEvent(rolledId, (e) => e.kind === 'stage_verifying');
    await deployments.abortDeployment({
      deploymentId: rolledId,
      actor: 'carol',
      reason: 'customer reports',
      rollBack: true,
    });
    const rolledEnd = await untilEnd(rolledId);
    assert.equal(rolledEnd.deployment.state, DeploymentState.ROLLED_BACK);
    const calls = rollback.requests.filter((r) => r.actor === `deployment:${rolledId}`);
    assert.deepEqual(
      calls.map((r) => [r.zoneId, r.trigger]),
      [[zones.a1, ActivationTrigger.ROLLBACK_MANUAL]],
    );
    assert.equal(await servingVersion(zones.a1), version('a1v2').versionId);
    assert.equal(
      rollback.requests.filter((r) => r.actor === `deployment:${keptId}`).length,
      0,
      'the abort without rollback called the rollback controller',
    );
  });

  it('never passes a stage without a verdict: an unreachable verifier fails it and rolls back', async () => {
    await activateAndConverge(version('d1v1'), '');
    verifier.decide = () => 'pass';
    verifier.down = true;
    try {
      const { deployment } = await deploy({
        policySetVersionId: version('d1v2').versionId,
        stages: [
          {
            name: 'one',
            zones: [zones.d1],
            regions: ['eu'],
            bakeSeconds: 1,
            gates: { timeoutSeconds: 2 },
          },
        ],
      });
      const { deployment: ended } = await untilEnd(deployment!.deploymentId);
      assert.equal(ended.state, DeploymentState.ROLLED_BACK, ended.failureReason);
      assert.match(ended.failureReason, /no verdict from the verifier within 3 s/);
      assert.match(ended.failureReason, /aggregator is down/);
      assert.equal(await servingVersion(zones.d1), version('d1v1').versionId);
    } finally {
      verifier.down = false;
    }
  });

  it('ends failed, naming the zone left on the bad version, when the rollback controller keeps failing', async () => {
    await activateAndConverge(version('e1v1'), '');
    verifier.decide = () => 'fail';
    rollback.failWith = new UnavailableError('rollback controller unreachable');
    try {
      const { deployment } = await deploy({
        policySetVersionId: version('e1v2').versionId,
        stages: [{ name: 'one', zones: [zones.e1], regions: ['eu'], bakeSeconds: 1 }],
      });
      const { events, deployment: ended } = await untilEnd(deployment!.deploymentId);
      assert.equal(ended.state, DeploymentState.FAILED);
      assert.match(ended.failureReason, /canary_audit fail/);
      assert.match(
        ended.failureReason,
        new RegExp(`rollback failed in "${zones.e1}" \\(gave up after 3 attempts`),
      );
      assert.equal(ended.stages[0]?.zones[0]?.state, ZoneState.ROLLBACK_FAILED);
      assert.equal(kinds(events).filter((kind) => kind === 'rollback_retry').length, 2);
      assert.equal(await servingVersion(zones.e1), version('e1v2').versionId);
    } finally {
      rollback.failWith = undefined;
    }
  });
});
