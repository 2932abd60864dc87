import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { ActivationService, ActivationState } from '@caracal-deploy/contracts';
import { createGrpcClient, type GrpcClient } from '@caracal-deploy/grpc';
import { createRedis, invalidationStream } from '@caracal-deploy/redis';
import {
  assertReachable,
  createTestDatabase,
  infraSettings,
  uniqueName,
  waitFor,
} from '@caracal-deploy/testing';
import type { Redis } from 'ioredis';
import { Client } from 'pg';

import { bootCoordinator, type BootedCoordinator } from '../test-support/boot-coordinator.js';
import { PrivateRedis, freePort } from '../test-support/private-redis.js';
import { RegistryFixtures, migrateRegistry } from '../test-support/registry-fixtures.js';
import { ReplyGate } from '../test-support/reply-gate.js';
import { SpawnedCoordinator } from '../test-support/spawned-coordinator.js';
import { StsFleet } from '../test-support/sts-fleet.test-support.js';

const settings = infraSettings();
const zoneName = (prefix: string) => uniqueName(prefix).replaceAll('_', '-');

const finalStatus = async (client: GrpcClient<typeof ActivationService>, activationId: string) => {
  let last;
  for await (const message of client.watchActivation({ activationId }, { timeoutMs: 60_000 }))
    last = message.status;
  return last;
};

const request = (zoneId: string, versionId: string, expected: string) => ({
  zoneId,
  policySetVersionId: versionId,
  expectedActiveVersionId: expected,
  idempotencyKey: uniqueName('key'),
  reason: 'fault test',
  actor: 'tester',
});

/** One database with admin-api's registry and two versions whose bundles the fleet serves. */
async function environment(fleet: StsFleet, name: string) {
  const database = await createTestDatabase(settings);
  await migrateRegistry(database.url);
  const registry = await new RegistryFixtures(database.url).connect();
  const built = [fleet.bundle(`${name}-a`), fleet.bundle(`${name}-b`)];
  const zone = zoneName(name);
  const versions = [];
  for (const bundle of built)
    versions.push(
      await registry.version(zone, {
        manifestSha256: bundle.revision,
        bundleSha256: bundle.bundleSha256,
      }),
    );
  return {
    database,
    zone,
    versions,
    built,
    async close() {
      await registry.close();
      await database.drop();
    },
  };
}

describe('activation coordinator faults (real PostgreSQL, real and private Redis)', () => {
  let fleet: StsFleet;
  let redis: Redis;

  before(async () => {
    await assertReachable('postgres', settings);
    await assertReachable('redis', settings);
    await assertReachable('opa', settings);
    redis = await createRedis(settings.redisUrl);
    fleet = await StsFleet.create(
      ['outage', 'dead', 'silent', 'killed'].flatMap((name) => [`${name}-a`, `${name}-b`]),
    );
  });

  after(async () => {
    await fleet?.close(redis);
    redis?.disconnect();
  });

  it('commits an activation while Redis is down, retries the outbox, and converges when Redis returns', async () => {
    const env = await environment(fleet, 'outage');
    const privateRedis = await PrivateRedis.start();
    const privateClient = await createRedis(privateRedis.url, { onError: () => undefined });
    let coordinator: BootedCoordinator | undefined;
    try {
      coordinator = await bootCoordinator({
        CARACAL_POSTGRES_URL: env.database.url,
        CARACAL_REDIS_URL: privateRedis.url,
        CARACAL_COORDINATOR_OUTBOX_RETRY_BASE_MS: '50',
        CARACAL_COORDINATOR_OUTBOX_RETRY_MAX_MS: '300',
        CARACAL_COORDINATOR_OUTBOX_MAX_ATTEMPTS: '10000',
      });
      await fleet.start(
        {
          replicaId: 'sts-outage-1',
          region: 'eu',
          zoneId: env.zone,
          coordinatorAddress: coordinator.address,
          redisUrl: privateRedis.url,
        },
        privateClient,
      );
      const [v1, v2] = env.versions as [(typeof env.versions)[0], (typeof env.versions)[0]];
      const first = await coordinator.client.activate(request(env.zone, v1.versionId, ''));
      assert.equal(
        (await finalStatus(coordinator.client, first.activation!.activationId))?.state,
        ActivationState.CONVERGED,
      );

      await privateRedis.down();
      const second = await coordinator.client.activate(
        request(env.zone, v2.versionId, v1.versionId),
      );
      const id = second.activation!.activationId;
      assert.equal(
        (await coordinator.client.getActiveBinding({ zoneId: env.zone })).binding?.activationId,
        id,
        'the activation committed without Redis',
      );
      const retrying = await waitFor(
        async () => {
          const { status } = await coordinator!.client.getActivation({ activationId: id });
          return status && status.outbox!.attempts >= 2 ? status : undefined;
        },
        { timeoutMs: 30_000, description: 'the outbox to retry the publish' },
      );
      assert.equal(retrying.state, ActivationState.DISPATCHING);
      assert.equal(retrying.outbox?.state, 'pending');
      assert.notEqual(retrying.outbox?.lastError, '');

      await privateRedis.up();
      const status = await finalStatus(coordinator.client, id);
      assert.equal(status?.state, ActivationState.CONVERGED);
      assert.equal(status?.outbox?.state, 'published');
      assert.deepEqual(
        status?.replicas.map((r) => [r.replicaId, r.revision, r.serving]),
        [['sts-outage-1', env.built[1]!.revision, true]],
      );
    } finally {
      await coordinator?.close();
      privateClient.disconnect();
      await privateRedis.down();
      await env.close();
    }
  });

  it('dead-letters an invalidation after its last attempt and says so', async () => {
    const env = await environment(fleet, 'dead');
    const privateRedis = await PrivateRedis.start();
    let coordinator: BootedCoordinator | undefined;
    try {
      coordinator = await bootCoordinator({
        CARACAL_POSTGRES_URL: env.database.url,
        CARACAL_REDIS_URL: privateRedis.url,
        CARACAL_COORDINATOR_OUTBOX_RETRY_BASE_MS: '20',
        CARACAL_COORDINATOR_OUTBOX_RETRY_MAX_MS: '50',
        CARACAL_COORDINATOR_OUTBOX_MAX_ATTEMPTS: '2',
      });
      await privateRedis.down();
      const { activation } = await coordinator.client.activate(
        request(env.zone, env.versions[0]!.versionId, ''),
      );
      const status = await finalStatus(coordinator.client, activation!.activationId);
      assert.equal(status?.state, ActivationState.DEAD_LETTERED);
      assert.equal(status?.outbox?.state, 'dead');
      assert.equal(status?.outbox?.attempts, 2);
      const metrics = await (await fetch(coordinator.metricsUrl)).text();
      assert.match(metrics, /^caracal_invalidation_outbox_dead_letters_total\{[^}]*\} 1$/m);
      // The open-activations gauge (what an alert watches) shows it once the tracker passes.
      await waitFor(
        async () =>
          /^caracal_activations_open\{[^}]*state="dead_lettered"[^}]*\} 1$/m.test(
            await (await fetch(coordinator!.metricsUrl)).text(),
          )
            ? true
            : undefined,
        { timeoutMs: 10_000, description: 'the open-activations gauge to count the dead letter' },
      );
    } finally {
      await coordinator?.close();
      await privateRedis.down();
      await env.close();
    }
  });

  it('times out publishes to a Redis that accepts them but never answers, and keeps retrying', async () => {
    const env = await environment(fleet, 'silent');
    const url = new URL(settings.redisUrl);
    const gate = new ReplyGate({ host: url.hostname, port: Number(url.port) });
    const gatedUrl = new URL(settings.redisUrl);
    gatedUrl.port = String(await gate.listen());
    let coordinator: BootedCoordinator | undefined;
    try {
      coordinator = await bootCoordinator({
        CARACAL_POSTGRES_URL: env.database.url,
        CARACAL_REDIS_URL: gatedUrl.toString(),
        CARACAL_COORDINATOR_REDIS_COMMAND_TIMEOUT_MS: '200',
        CARACAL_COORDINATOR_OUTBOX_RETRY_BASE_MS: '20',
        CARACAL_COORDINATOR_OUTBOX_RETRY_MAX_MS: '100',
        CARACAL_COORDINATOR_OUTBOX_MAX_ATTEMPTS: '10000',
      });
      gate.hold();
      const { activation } = await coordinator.client.activate(
        request(env.zone, env.versions[0]!.versionId, ''),
      );
      const status = await waitFor(
        async () => {
          const answer = await coordinator!.client.getActivation({
            activationId: activation!.activationId,
          });
          return (answer.status?.outbox?.attempts ?? 0) >= 3 ? answer.status : undefined;
        },
        { timeoutMs: 30_000, description: 'the outbox to time out and retry' },
      );
      assert.equal(status.state, ActivationState.DISPATCHING);
      assert.match(status.outbox?.lastError ?? '', /timed out/i);
    } finally {
      await coordinator?.close();
      await gate.close();
      await env.close();
    }
  });

  it('finishes a dispatch the killed coordinator started, without a second activation or harm', async () => {
    const env = await environment(fleet, 'killed');
    const url = new URL(settings.redisUrl);
    const gate = new ReplyGate({ host: url.hostname, port: Number(url.port) });
    const gatedUrl = new URL(settings.redisUrl);
    gatedUrl.port = String(await gate.listen());
    const grpcAddress = `127.0.0.1:${await freePort()}`;
    const common = {
      CARACAL_POSTGRES_URL: env.database.url,
      CARACAL_COORDINATOR_GRPC_ADDRESS: grpcAddress,
      CARACAL_COORDINATOR_METRICS_PORT: '0',
    };
    const client = createGrpcClient(ActivationService, grpcAddress);
    let first: SpawnedCoordinator | undefined;
    let restarted: SpawnedCoordinator | undefined;
    try {
      first = await SpawnedCoordinator.start({
        ...common,
        CARACAL_REDIS_URL: gatedUrl.toString(),
        // Its unanswered publish stays in flight until the kill (no timeout and retry first).
        CARACAL_COORDINATOR_REDIS_COMMAND_TIMEOUT_MS: '600000',
      });
      await fleet.start(
        {
          replicaId: 'sts-killed-1',
          region: 'eu',
          zoneId: env.zone,
          coordinatorAddress: grpcAddress,
        },
        redis,
      );
      const [v1, v2] = env.versions as [(typeof env.versions)[0], (typeof env.versions)[0]];
      const one = await client.activate(request(env.zone, v1.versionId, ''));
      assert.equal(
        (await finalStatus(client, one.activation!.activationId))?.state,
        ActivationState.CONVERGED,
      );

      // The XADD reaches Redis but its reply never returns: the dispatcher is mid-dispatch.
      gate.hold();
      const two = await client.activate(request(env.zone, v2.versionId, v1.versionId));
      const id = two.activation!.activationId;
      const entriesOf = async () =>
        (await redis.xrevrange(invalidationStream, '+', '-', 'COUNT', 500)).filter(([, fields]) =>
          fields.includes(id),
        ).length;
      await waitFor(async () => ((await entriesOf()) >= 1 ? true : undefined), {
        timeoutMs: 30_000,
        description: 'the invalidation to reach Redis',
      });
      await first.kill();
      const pg = new Client({ connectionString: env.database.url });
      await pg.connect();
      try {
        const unrecorded = await waitFor(
          async () => {
            const { rows } = await pg.query<{ published_at: Date | null }>(
              `select o.published_at from invalidation_outbox o
               join activations a on a.outbox_id = o.id where a.id = $1`,
              [id],
            );
            // The killed process's transaction rolls back once the server notices it is gone.
            const { rows: sessions } = await pg.query(
              `select 1 from pg_stat_activity where datname = current_database()
               and application_name = 'activation-coordinator'`,
            );
            return sessions.length === 0 ? rows[0] : undefined;
          },
          { timeoutMs: 30_000, description: 'the killed coordinator to leave the database' },
        );
        assert.equal(unrecorded.published_at, null, 'the publish was never recorded');

        restarted = await SpawnedCoordinator.start({
          ...common,
          CARACAL_REDIS_URL: settings.redisUrl,
        });
        // The replica may have converged on the first copy already; the outbox still finishes.
        const status = await waitFor(
          async () => {
            const answer = await client.getActivation({ activationId: id });
            return answer.status?.outbox?.state === 'published' &&
              answer.status.state === ActivationState.CONVERGED
              ? answer.status
              : undefined;
          },
          { timeoutMs: 30_000, description: 'the restarted coordinator to publish and converge' },
        );
        assert.equal(status.outbox?.attempts, 1, 'the restarted dispatcher published at once');
        assert.equal(
          await entriesOf(),
          2,
          'the invalidation went out again (a harmless duplicate)',
        );
        const history = await client.listActivations({ zoneId: env.zone });
        assert.deepEqual(
          history.activations.map((r) => r.activation?.policySetVersionId),
          [v2.versionId, v1.versionId],
          'one activation each, no duplicate',
        );
        const { rows: outboxRows } = await pg.query<{ n: number }>(
          `select count(*)::int as n from invalidation_outbox`,
        );
        assert.equal(outboxRows[0]?.n, 2);
        assert.equal(
          (await client.getActiveBinding({ zoneId: env.zone })).binding?.policySetVersionId,
          v2.versionId,
        );
        assert.deepEqual(
          status.replicas.map((r) => [r.replicaId, r.revision, r.serving]),
          [['sts-killed-1', env.built[1]!.revision, true]],
        );
      } finally {
        await pg.end();
      }
    } finally {
      client.close();
      await first?.kill();
      await restarted?.kill();
      await gate.close();
      await env.close();
    }
  });
});
