import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import {
  ActivationService,
  ActivationState,
  HealthService,
  ServingStatus,
} from '@caracal-deploy/contracts';
import { createGrpcClient } from '@caracal-deploy/grpc';
import { OpaCli } from '@caracal-deploy/opa';
import { createRedis, readReplicaStatuses, replicaStatusKey } from '@caracal-deploy/redis';
import {
  FakeAdminApi,
  buildSignedBundle,
  writeEs256Key,
  type BuiltBundle,
} from '@caracal-deploy/stand-ins';
import {
  assertReachable,
  createTestDatabase,
  createTestTopic,
  infraSettings,
  uniqueName,
  waitFor,
  type TestDatabase,
  type TestTopic,
} from '@caracal-deploy/testing';
import type { Redis } from 'ioredis';

import { freePort } from './test-support/private-redis.js';
import {
  RegistryFixtures,
  migrateRegistry,
  type SeededVersion,
} from './test-support/registry-fixtures.js';
import { SpawnedCoordinator } from './test-support/spawned-coordinator.js';
import { SpawnedSts } from './test-support/spawned-sts.js';

const settings = infraSettings();
const adminToken = 'coordinator-e2e-token';

// The coordinator and two STS replicas run as their real processes against real
// PostgreSQL, Redis and Kafka; the Admin API (bundles and catalogs the STS
// fetches) is a stand-in at that service boundary.
describe('activation coordinator app with two real STS replicas', () => {
  const opa = new OpaCli({ bin: settings.opaBin });
  const admin = new FakeAdminApi(adminToken);
  const zone = uniqueName('e2e').replaceAll('_', '-');
  const replicaIds = ['sts-e2e-eu-1', 'sts-e2e-us-1'];
  const replicas: SpawnedSts[] = [];
  const versions: SeededVersion[] = [];
  const bundles: BuiltBundle[] = [];
  let dir: string;
  let database: TestDatabase;
  let registry: RegistryFixtures;
  let coordinator: SpawnedCoordinator;
  let address: string;
  let redis: Redis;
  let topics: TestTopic[] = [];

  before(async () => {
    await assertReachable('postgres', settings);
    await assertReachable('redis', settings);
    await assertReachable('kafka', settings);
    await assertReachable('opa', settings);
    dir = await mkdtemp(join(tmpdir(), 'coordinator-e2e-'));
    const keyPath = await writeEs256Key(dir, 'bundle.pem');
    const signing = { keyPath, keyId: 'bundle-e2e' };
    bundles.push(await buildSignedBundle(opa, dir, 'e2e-v1', ['read'], signing));
    bundles.push(await buildSignedBundle(opa, dir, 'e2e-v2', ['read', 'write'], signing));
    for (const bundle of bundles) admin.bundles.set(bundle.bundleSha256, bundle.bytes);
    admin.catalogs.set(zone, [
      {
        identifier: 'resource://orders',
        id: 'res-orders',
        scopes: ['read', 'write'],
        operations: [],
      },
    ]);
    const adminUrl = await admin.listen();
    database = await createTestDatabase(settings);
    await migrateRegistry(database.url);
    registry = await new RegistryFixtures(database.url).connect();
    for (const bundle of bundles)
      versions.push(
        await registry.version(zone, {
          manifestSha256: bundle.revision,
          bundleSha256: bundle.bundleSha256,
        }),
      );
    redis = await createRedis(settings.redisUrl);
    address = `127.0.0.1:${await freePort()}`;
    coordinator = await SpawnedCoordinator.start({
      CARACAL_POSTGRES_URL: database.url,
      CARACAL_REDIS_URL: settings.redisUrl,
      CARACAL_COORDINATOR_GRPC_ADDRESS: address,
      CARACAL_COORDINATOR_METRICS_PORT: '0',
    });
    topics = [
      await createTestTopic(settings.kafkaBrokers),
      await createTestTopic(settings.kafkaBrokers),
    ];
    for (const [index, replicaId] of replicaIds.entries()) {
      replicas.push(
        SpawnedSts.start(replicaId, {
          CARACAL_STS_REGION: index === 0 ? 'eu' : 'us',
          CARACAL_STS_ZONES: zone,
          CARACAL_STS_HTTP_PORT: '0',
          CARACAL_STS_GRPC_ADDRESS: '127.0.0.1:0',
          CARACAL_STS_METRICS_PORT: '0',
          CARACAL_STS_SIGNING_KEY_FILE: join(dir, `${replicaId}-signing.pem`),
          CARACAL_STS_SUBJECT_KEY_FILE: join(dir, 'subject.pem'),
          CARACAL_BUNDLE_PUBLIC_KEY_FILE: keyPath,
          CARACAL_BUNDLE_SIGNING_KEY_ID: 'bundle-e2e',
          CARACAL_ADMIN_API_URL: adminUrl,
          CARACAL_STS_ADMIN_API_TOKEN: adminToken,
          CARACAL_COORDINATOR_GRPC_ADDRESS: address,
          CARACAL_REDIS_URL: settings.redisUrl,
          // Long: only the invalidation explains a fast switch.
          CARACAL_STS_POLICY_CHECK_INTERVAL_MS: '600000',
          CARACAL_KAFKA_BROKERS: settings.kafkaBrokers.join(','),
          CARACAL_AUDIT_TOPIC: topics[0]!.topic,
          CARACAL_DECISION_LOG_TOPIC: topics[1]!.topic,
        }),
      );
    }
    // A replica is up once it has reported its (empty) state for the zone.
    await waitFor(
      async () =>
        (await readReplicaStatuses(redis, zone)).length === replicaIds.length ? true : undefined,
      {
        timeoutMs: 60_000,
        description: `both STS replicas to report for ${zone}:\n${replicas.map((r) => r.log).join('\n')}`,
      },
    );
  });

  after(async () => {
    await Promise.all(replicas.map((replica) => replica.stop()));
    await coordinator?.kill();
    await redis?.del(...replicaIds.map((id) => replicaStatusKey(zone, id)));
    redis?.disconnect();
    await Promise.all(topics.map((topic) => topic.delete()));
    await registry?.close();
    await database?.drop();
    await admin.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('reports SERVING on gRPC health', async () => {
    const health = createGrpcClient(HealthService, address);
    try {
      const answer = await health.check({});
      assert.equal(answer.status, ServingStatus.SERVING);
    } finally {
      health.close();
    }
  });

  it('converges both replicas on each activation and reports them one by one', async () => {
    const client = createGrpcClient(ActivationService, address);
    try {
      let expected = '';
      for (const [index, version] of versions.entries()) {
        const { activation } = await client.activate({
          zoneId: zone,
          policySetVersionId: version.versionId,
          expectedActiveVersionId: expected,
          idempotencyKey: uniqueName('e2e_key'),
          reason: `e2e step ${index + 1}`,
          actor: 'e2e',
        });
        const states: ActivationState[] = [];
        let last;
        for await (const { status } of client.watchActivation(
          { activationId: activation!.activationId },
          { timeoutMs: 60_000 },
        )) {
          states.push(status!.state);
          last = status;
        }
        assert.equal(last?.state, ActivationState.CONVERGED, `states seen: ${states.join(',')}`);
        assert.equal(last?.liveReplicas, 2);
        assert.deepEqual(
          last?.replicas.map((r) => [r.region, r.replicaId, r.revision, r.serving]),
          [
            ['eu', 'sts-e2e-eu-1', bundles[index]!.revision, true],
            ['us', 'sts-e2e-us-1', bundles[index]!.revision, true],
          ],
        );
        assert.ok((last?.propagationMillis ?? -1n) >= 0n);
        assert.deepEqual(last?.laggards, []);
        // What Redis holds agrees: each replica reports the new revision itself.
        const reported = await readReplicaStatuses(redis, zone);
        assert.deepEqual(
          reported.map((r) => r.revision),
          [bundles[index]!.revision, bundles[index]!.revision],
        );
        expected = version.versionId;
      }
      const history = await client.listActivations({ zoneId: zone });
      assert.deepEqual(
        history.activations.map((r) => [r.activation?.policySetVersionId, r.state]),
        [
          [versions[1]!.versionId, ActivationState.CONVERGED],
          [versions[0]!.versionId, ActivationState.CONVERGED],
        ],
      );
      const lkg = await client.getLastKnownGood({ zoneId: zone });
      assert.equal(lkg.lastKnownGood?.policySetVersionId, versions[0]!.versionId);
    } finally {
      client.close();
    }
  });
});
