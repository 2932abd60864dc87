import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { ActivationState, ActivationTrigger } from '@caracal-deploy/contracts';
import { DeployError } from '@caracal-deploy/errors';
import { invalidationStream } from '@caracal-deploy/redis';
import { infraSettings, uniqueName, type TestDatabase } from '@caracal-deploy/testing';
import type { Redis } from 'ioredis';

import { bootCoordinator, type BootedCoordinator } from '../test-support/boot-coordinator.js';
import { missInvalidation } from '../test-support/missed-message.test-support.js';
import { type StsFleet } from '../test-support/sts-fleet.test-support.js';
import {
  startRegistryHarness,
  zoneName,
  type RegistryHarness,
} from '../test-support/registry-harness.test-support.js';
import { type RegistryFixtures, type SeededVersion } from '../test-support/registry-fixtures.js';

const settings = infraSettings();

const rejection = (code: string, pattern: RegExp) => (error: unknown) => {
  assert.ok(error instanceof DeployError, `expected a DeployError, got ${String(error)}`);
  assert.equal(error.code, code, error.message);
  assert.match(error.message, pattern);
  return true;
};

const histogramCount = (text: string): number =>
  Number(
    /^caracal_activation_propagation_seconds_count(?:\{[^}]*\})? (\d+)/m.exec(text)?.[1] ?? 'NaN',
  );

// Real PostgreSQL (admin-api's registry schema, created by its CLI), real Redis,
// real STS replica processes loading real signed OPA bundles; the Admin API they
// fetch bundles from is a stand-in.
describe('activation coordinator against real PostgreSQL and Redis', () => {
  let harness: RegistryHarness;
  let fleet: StsFleet;
  let database: TestDatabase;
  let registry: RegistryFixtures;
  let coordinator: BootedCoordinator;
  let redis: Redis;

  const activate = (
    version: SeededVersion,
    expected: string,
    key = uniqueName('key'),
    trigger = ActivationTrigger.MANUAL,
  ) =>
    coordinator.client.activate({
      zoneId: version.zoneId,
      policySetVersionId: version.versionId,
      expectedActiveVersionId: expected,
      idempotencyKey: key,
      reason: 'test',
      actor: 'tester',
      trigger,
    });

  const finalStatus = async (activationId: string) => {
    let last;
    for await (const message of coordinator.client.watchActivation(
      { activationId },
      { timeoutMs: 30_000 },
    ))
      last = message.status;
    return last;
  };

  before(async () => {
    // Bundles belong to one version each in the registry: each zone gets its own.
    harness = await startRegistryHarness(['v1', 'v2', 'v3', 'v4'], ['postgres', 'redis', 'opa']);
    ({ fleet, database, registry, redis } = harness);
    coordinator = await bootCoordinator({
      CARACAL_POSTGRES_URL: database.url,
      CARACAL_REDIS_URL: settings.redisUrl,
      CARACAL_COORDINATOR_STALL_AFTER_MS: '20000',
    });
  });

  after(async () => {
    await coordinator?.close();
    await harness?.close();
  });

  it('activates a validated version, serves it as the binding, and replays an idempotency key', async () => {
    const zone = zoneName('zone');
    const v1 = await registry.version(zone);
    const first = await activate(v1, '', 'key-replay-1');
    assert.equal(first.replayed, false);
    assert.equal(first.activation?.policySetVersionId, v1.versionId);
    assert.equal(first.activation?.previousPolicySetVersionId, '');
    assert.equal(first.activation?.manifestSha256, v1.manifestSha256);
    assert.equal(first.activation?.bundleSha256, v1.bundleSha256);
    const { binding } = await coordinator.client.getActiveBinding({ zoneId: zone });
    assert.equal(binding?.policySetVersionId, v1.versionId);
    assert.equal(binding?.activationId, first.activation?.activationId);
    // A retry after a lost response: same key, same answer, even though the expectation is now stale.
    const again = await activate(v1, '', 'key-replay-1');
    assert.equal(again.replayed, true);
    assert.equal(again.activation?.activationId, first.activation?.activationId);
    const other = await registry.version(zone);
    await assert.rejects(
      activate(other, v1.versionId, 'key-replay-1'),
      rejection('invalid_argument', /idempotency key/),
    );
    const history = await coordinator.client.listActivations({ zoneId: zone });
    assert.equal(history.activations.length, 1);
    await assert.rejects(
      coordinator.client.getActivation({ activationId: '00000000-0000-4000-8000-000000000000' }),
      rejection('not_found', /does not exist/),
    );
    await assert.rejects(
      coordinator.client.getActivation({ activationId: 'act-1' }),
      rejection('invalid_argument', /activation_id/),
    );
  });

  it('refuses stale expectations naming the current version, and unknown, unvalidated or bundle-less versions', async () => {
    const zone = zoneName('zone');
    const v1 = await registry.version(zone);
    const v2 = await registry.version(zone);
    await activate(v1, '');
    await assert.rejects(activate(v2, ''), (error: unknown) => {
      rejection('failed_precondition', new RegExp(`active version ${v1.versionId}`))(error);
      assert.equal((error as DeployError).details['current_active_version_id'], v1.versionId);
      return true;
    });
    const unvalidated = await registry.version(zone, { verdict: 'none' });
    await assert.rejects(
      activate(unvalidated, v1.versionId),
      rejection('failed_precondition', /not been validated/),
    );
    const failed = await registry.version(zone, { verdict: 'invalid' });
    await assert.rejects(
      activate(failed, v1.versionId),
      rejection('failed_precondition', /failed its latest validation/),
    );
    const unbuilt = await registry.version(zone, { bundle: false });
    await assert.rejects(
      activate(unbuilt, v1.versionId),
      rejection('failed_precondition', /no built bundle/),
    );
    await assert.rejects(
      activate({ ...v2, versionId: '00000000-0000-4000-8000-000000000000' }, v1.versionId),
      rejection('not_found', /does not exist/),
    );
    await assert.rejects(
      activate({ ...v2, zoneId: zoneName('nowhere') }, ''),
      rejection('not_found', /zone/),
    );
    const foreign = await registry.version(zoneName('other'));
    await assert.rejects(
      activate({ ...foreign, zoneId: zone }, v1.versionId),
      rejection('invalid_argument', /belongs to zone/),
    );
    await assert.rejects(
      coordinator.client.activate({
        zoneId: zone,
        policySetVersionId: v2.versionId,
        idempotencyKey: 'k',
        reason: 'r',
        actor: 'a',
      }),
      (error: unknown) => {
        rejection('invalid_argument', /invalid activation request/)(error);
        assert.deepEqual(
          (error as DeployError).violations.map((v) => v.field),
          ['expected_active_version_id'],
        );
        return true;
      },
    );
    const { binding } = await coordinator.client.getActiveBinding({ zoneId: zone });
    assert.equal(binding?.policySetVersionId, v1.versionId, 'nothing refused changed the binding');
  });

  it('lets exactly one of many concurrent activations of a zone win, first binding and later', async () => {
    const zone = zoneName('race');
    const versions: SeededVersion[] = [];
    for (let i = 0; i < 6; i += 1) versions.push(await registry.version(zone));
    const firstRound = await Promise.allSettled(versions.map((version) => activate(version, '')));
    const winners = firstRound.filter((r) => r.status === 'fulfilled');
    assert.equal(winners.length, 1, 'one first activation wins');
    for (const loser of firstRound.filter((r) => r.status === 'rejected'))
      rejection('failed_precondition', /has active version/)(loser.reason);
    const current = (await coordinator.client.getActiveBinding({ zoneId: zone })).binding!;
    // The contenders all move the zone off its current version (re-activating the current
    // one leaves the compared value unchanged, so it would not conflict).
    const secondRound = await Promise.allSettled(
      versions
        .filter((version) => version.versionId !== current.policySetVersionId)
        .map((version) => activate(version, current.policySetVersionId)),
    );
    assert.equal(secondRound.filter((r) => r.status === 'fulfilled').length, 1);
    for (const loser of secondRound.filter((r) => r.status === 'rejected'))
      rejection('failed_precondition', /not the expected version/)(loser.reason);
    const history = await coordinator.client.listActivations({ zoneId: zone });
    assert.equal(history.activations.length, 2, 'losers left no history');
  });

  it('converges every live replica, reports each one, and observes propagation once per activation', async () => {
    const zone = zoneName('converge');
    const v1 = await harness.seedBundle(zone, 'v1');
    const v2 = await harness.seedBundle(zone, 'v2');
    for (const [replicaId, region] of [
      ['sts-eu-1', 'eu'],
      ['sts-us-1', 'us'],
    ] as const)
      await fleet.start(
        { replicaId, region, zoneId: zone, coordinatorAddress: coordinator.address },
        redis,
      );
    const before = histogramCount(await (await fetch(coordinator.metricsUrl)).text());
    const first = await activate(v1, '');
    const status = await finalStatus(first.activation!.activationId);
    assert.equal(status?.state, ActivationState.CONVERGED);
    assert.equal(status?.outbox?.state, 'published');
    assert.equal(status?.liveReplicas, 2);
    assert.equal(status?.servingReplicas, 2);
    assert.deepEqual(
      status?.replicas.map((r) => [r.replicaId, r.region, r.revision, r.serving]),
      [
        ['sts-eu-1', 'eu', fleet.bundle('v1').revision, true],
        ['sts-us-1', 'us', fleet.bundle('v1').revision, true],
      ],
    );
    assert.ok(
      status?.replicas.every(
        (r) => r.confirmedAtUnixMillis >= first.activation!.createdAtUnixMillis,
      ),
    );
    assert.deepEqual(
      status?.regions.map((r) => [r.region, r.live, r.serving]),
      [
        ['eu', 1, 1],
        ['us', 1, 1],
      ],
    );
    assert.equal(
      status?.propagationMillis,
      status?.replicas.map((r) => r.lagMillis).reduce((a, b) => (a > b ? a : b)),
    );
    const second = await activate(
      v2,
      v1.versionId,
      uniqueName('key'),
      ActivationTrigger.ROLLBACK_MANUAL,
    );
    assert.equal(
      (await finalStatus(second.activation!.activationId))?.state,
      ActivationState.CONVERGED,
    );
    // Asked again, a converged activation stays converged and is not observed twice.
    await coordinator.client.getActivation({ activationId: first.activation!.activationId });
    await coordinator.client.getActivation({ activationId: second.activation!.activationId });
    const after = histogramCount(await (await fetch(coordinator.metricsUrl)).text());
    assert.equal(after - before, 2);
    const history = await coordinator.client.listActivations({ zoneId: zone, pageSize: 1 });
    assert.equal(history.activations[0]?.activation?.activationId, second.activation?.activationId);
    assert.equal(history.activations[0]?.activation?.trigger, ActivationTrigger.ROLLBACK_MANUAL);
    assert.equal(history.activations[0]?.activation?.previousPolicySetVersionId, v1.versionId);
    assert.equal(history.activations[0]?.state, ActivationState.CONVERGED);
    const older = await coordinator.client.listActivations({
      zoneId: zone,
      pageSize: 1,
      pageToken: history.nextPageToken,
    });
    assert.equal(older.activations[0]?.activation?.activationId, first.activation?.activationId);
    assert.equal(older.nextPageToken, '');
  });

  it('repairs a replica that missed the invalidation with its periodic check', async () => {
    const zone = zoneName('missed');
    const v1 = await harness.seedBundle(zone, 'v3');
    const v2 = await harness.seedBundle(zone, 'v4');
    await activate(v1, '');
    // Unique: the test finds the replica's Redis connection by the name derived from it.
    const laggingId = `sts-${zone}`;
    const lagging = await fleet.start(
      {
        replicaId: laggingId,
        region: 'eu',
        zoneId: zone,
        coordinatorAddress: coordinator.address,
        checkIntervalMs: 1_000,
      },
      redis,
    );
    const secondId = await missInvalidation(redis, lagging, async () => {
      const second = await activate(v2, v1.versionId);
      return second.activation!.activationId;
    });
    const stream = await redis.xrevrange(invalidationStream, '+', '-', 'COUNT', 500);
    assert.equal(
      stream.some(([, fields]) => fields.includes(secondId)),
      false,
      'the invalidation is gone: only the periodic check can deliver the change',
    );
    const status = await finalStatus(secondId);
    assert.equal(status?.state, ActivationState.CONVERGED);
    assert.deepEqual(
      status?.replicas.map((r) => [r.replicaId, r.revision, r.serving]),
      [[laggingId, fleet.bundle('v4').revision, true]],
    );
  });

  it('names the last known good version: the latest previously active one other than the current', async () => {
    const zone = zoneName('lkg');
    await registry.zone(zone);
    const empty = await coordinator.client.getLastKnownGood({ zoneId: zone });
    assert.equal(empty.current, undefined);
    assert.equal(empty.lastKnownGood, undefined);
    const a = await registry.version(zone);
    const b = await registry.version(zone);
    const c = await registry.version(zone);
    await activate(a, '');
    await activate(b, a.versionId);
    const toA = await activate(a, b.versionId);
    await activate(c, a.versionId);
    const lkg = await coordinator.client.getLastKnownGood({ zoneId: zone });
    assert.equal(lkg.current?.policySetVersionId, c.versionId);
    assert.equal(lkg.lastKnownGood?.policySetVersionId, a.versionId);
    assert.equal(lkg.lastKnownGood?.activationId, toA.activation?.activationId);
    const history = await coordinator.client.listActivations({ zoneId: zone });
    assert.deepEqual(
      history.activations.map((r) => r.activation?.policySetVersionId),
      [c.versionId, a.versionId, b.versionId, a.versionId],
    );
    // Nothing serves this zone: the replaced activations are superseded, not stalled.
    assert.deepEqual(
      history.activations.slice(1).map((r) => r.state),
      [ActivationState.SUPERSEDED, ActivationState.SUPERSEDED, ActivationState.SUPERSEDED],
    );
    await assert.rejects(
      coordinator.client.getLastKnownGood({ zoneId: zoneName('unknown') }),
      rejection('not_found', /zone/),
    );
  });

  it('never names a version a rollback moved the zone away from as last known good', async () => {
    const zone = zoneName('lkgrb');
    await registry.zone(zone);
    const good = await registry.version(zone);
    const bad = await registry.version(zone);
    const next = await registry.version(zone);
    await activate(good, '');
    await activate(bad, good.versionId);
    await activate(good, bad.versionId, uniqueName('key'), ActivationTrigger.ROLLBACK_ALERT);
    // Back on the good version, the bad one is not a place to roll back to.
    const afterRollback = await coordinator.client.getLastKnownGood({ zoneId: zone });
    assert.equal(afterRollback.current?.policySetVersionId, good.versionId);
    assert.equal(afterRollback.lastKnownGood, undefined);
    await activate(next, good.versionId);
    const later = await coordinator.client.getLastKnownGood({ zoneId: zone });
    assert.equal(later.lastKnownGood?.policySetVersionId, good.versionId);
  });
});
