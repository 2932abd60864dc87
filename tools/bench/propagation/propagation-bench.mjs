// Propagation benchmark (npm run bench:propagation): the activation coordinator
// app and N real STS replicas (apps/sts/dist/main.js) against the real Redis,
// PostgreSQL and Kafka of tools/infra; M activations one after another, each
// timed from its commit to the last live replica's confirmation (the
// coordinator's own propagation figure). Then one replica misses an
// invalidation for real (frozen, its stream connection closed, the entry
// deleted before it reads again) and the time from the commit until its
// periodic check repairs it is measured.
//
//   node tools/bench/propagation/propagation-bench.mjs [--replicas 10] [--activations 100] [--check-interval-ms 2000]
//
// The Admin API (bundles, catalogs) is the in-test stand-in of libs/stand-ins.
// Last line: replicas=<n> propagation_p50_ms=<n> propagation_p99_ms=<n> missed_message_recovery_s=<n>
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { ActivationService, ActivationState } from '@caracal-deploy/contracts';
import { createGrpcClient } from '@caracal-deploy/grpc';
import { OpaCli } from '@caracal-deploy/opa';
import {
  createRedis,
  invalidationStream,
  readReplicaStatuses,
  replicaStatusKey,
} from '@caracal-deploy/redis';
import { FakeAdminApi, buildSignedBundle, writeEs256Key } from '@caracal-deploy/stand-ins';
import {
  createTestDatabase,
  createTestTopic,
  infraSettings,
  uniqueName,
  waitFor,
} from '@caracal-deploy/testing';

const root = new URL('../../../', import.meta.url).pathname;
const support = `${root}apps/activation-coordinator/dist/test-support`;
const { freePort } = await import(`${support}/private-redis.js`);
const { RegistryFixtures, migrateRegistry } = await import(`${support}/registry-fixtures.js`);
const { SpawnedCoordinator } = await import(`${support}/spawned-coordinator.js`);
const { SpawnedSts } = await import(`${support}/spawned-sts.js`);

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const index = args.indexOf(`--${name}`);
  return index >= 0 && args[index + 1] ? args[index + 1] : fallback;
};
const replicaCount = Number(option('replicas', '10'));
const activationCount = Number(option('activations', '100'));
const checkIntervalMs = Number(option('check-interval-ms', '2000'));
const settings = infraSettings();
const log = (...line) => console.log(...line);
const percentile = (sorted, p) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

const dir = await mkdtemp(join(tmpdir(), 'propagation-bench-'));
const adminToken = 'propagation-bench-token';
const admin = new FakeAdminApi(adminToken);
const zone = uniqueName('bench').replaceAll('_', '-');
const replicas = [];
const cleanups = [];
try {
  const opa = new OpaCli({ bin: settings.opaBin });
  const keyPath = await writeEs256Key(dir, 'bundle.pem');
  const signing = { keyPath, keyId: 'bundle-bench' };
  const bundles = [
    await buildSignedBundle(opa, dir, 'bench-a', ['read'], signing),
    await buildSignedBundle(opa, dir, 'bench-b', ['read', 'write'], signing),
  ];
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

  const database = await createTestDatabase(settings);
  cleanups.push(() => database.drop());
  await migrateRegistry(database.url);
  const registry = await new RegistryFixtures(database.url).connect();
  cleanups.push(() => registry.close());
  const versions = [];
  for (const bundle of bundles)
    versions.push(
      await registry.version(zone, {
        manifestSha256: bundle.revision,
        bundleSha256: bundle.bundleSha256,
      }),
    );

  const redis = await createRedis(settings.redisUrl);
  cleanups.push(() => redis.disconnect());
  const grpcPort = await freePort();
  const coordinator = await SpawnedCoordinator.start({
    CARACAL_POSTGRES_URL: database.url,
    CARACAL_REDIS_URL: settings.redisUrl,
    CARACAL_COORDINATOR_GRPC_ADDRESS: `127.0.0.1:${grpcPort}`,
    CARACAL_COORDINATOR_METRICS_PORT: '0',
    // Long enough that the missed-message measurement is never cut short by a stall.
    CARACAL_COORDINATOR_STALL_AFTER_MS: String(Math.max(30_000, 5 * checkIntervalMs)),
  });
  cleanups.push(() => coordinator.kill());
  const client = createGrpcClient(ActivationService, `127.0.0.1:${grpcPort}`);
  cleanups.push(() => client.close());

  const topics = [
    await createTestTopic(settings.kafkaBrokers),
    await createTestTopic(settings.kafkaBrokers),
  ];
  cleanups.push(() => Promise.all(topics.map((topic) => topic.delete())));
  const replicaIds = Array.from({ length: replicaCount }, (_, i) => `sts-${zone}-${i + 1}`);
  for (const [index, replicaId] of replicaIds.entries()) {
    replicas.push(
      SpawnedSts.start(replicaId, {
        CARACAL_STS_REGION: index % 2 === 0 ? 'eu' : 'us',
        CARACAL_STS_ZONES: zone,
        CARACAL_STS_HTTP_PORT: '0',
        CARACAL_STS_GRPC_ADDRESS: '127.0.0.1:0',
        CARACAL_STS_METRICS_PORT: '0',
        CARACAL_STS_SIGNING_KEY_FILE: join(dir, `${replicaId}-signing.pem`),
        CARACAL_STS_SUBJECT_KEY_FILE: join(dir, 'subject.pem'),
        CARACAL_BUNDLE_PUBLIC_KEY_FILE: keyPath,
        CARACAL_BUNDLE_SIGNING_KEY_ID: 'bundle-bench',
        CARACAL_ADMIN_API_URL: adminUrl,
        CARACAL_STS_ADMIN_API_TOKEN: adminToken,
        CARACAL_COORDINATOR_GRPC_ADDRESS: `127.0.0.1:${grpcPort}`,
        CARACAL_REDIS_URL: settings.redisUrl,
        CARACAL_STS_POLICY_CHECK_INTERVAL_MS: String(checkIntervalMs),
        CARACAL_KAFKA_BROKERS: settings.kafkaBrokers.join(','),
        CARACAL_AUDIT_TOPIC: topics[0].topic,
        CARACAL_DECISION_LOG_TOPIC: topics[1].topic,
      }),
    );
  }
  cleanups.push(() => redis.del(...replicaIds.map((id) => replicaStatusKey(zone, id))));
  await waitFor(
    async () =>
      (await readReplicaStatuses(redis, zone)).length === replicaCount ? true : undefined,
    { timeoutMs: 120_000, intervalMs: 200, description: `${replicaCount} STS replicas to report` },
  );
  log(`${replicaCount} STS replicas up; periodic check every ${checkIntervalMs} ms`);

  let expected = '';
  let step = 0;
  const activate = async (version) => {
    step += 1;
    const { activation } = await client.activate({
      zoneId: zone,
      policySetVersionId: version.versionId,
      expectedActiveVersionId: expected,
      idempotencyKey: `${zone}-${step}`,
      reason: `bench step ${step}`,
      actor: 'bench',
    });
    expected = version.versionId;
    return activation;
  };
  const untilDone = async (activationId) => {
    let last;
    for await (const { status } of client.watchActivation({ activationId }, { timeoutMs: 120_000 }))
      last = status;
    if (last?.state !== ActivationState.CONVERGED)
      throw new Error(
        `activation ${activationId} ended ${ActivationState[last?.state ?? 0]}; laggards: ${last?.laggards.join(', ')}`,
      );
    return last;
  };

  // One warm-up activation, not measured (first bundle loads, connections).
  await untilDone((await activate(versions[0])).activationId);
  const samples = [];
  const dispatchMs = [];
  const firstReplicaMs = [];
  for (let i = 0; i < activationCount; i += 1) {
    const activation = await activate(versions[(i + 1) % 2]);
    const status = await untilDone(activation.activationId);
    if (status.liveReplicas !== replicaCount)
      throw new Error(`only ${status.liveReplicas} of ${replicaCount} replicas live`);
    samples.push(Number(status.propagationMillis));
    dispatchMs.push(
      Number(status.outbox.publishedAtUnixMillis - status.activation.createdAtUnixMillis),
    );
    firstReplicaMs.push(Math.min(...status.replicas.map((r) => Number(r.lagMillis))));
    if ((i + 1) % 20 === 0) log(`  ${i + 1}/${activationCount} activations`);
  }
  samples.sort((a, b) => a - b);
  dispatchMs.sort((a, b) => a - b);
  firstReplicaMs.sort((a, b) => a - b);

  // A missed message, for real: the last replica is frozen, its stream
  // connection is closed, the invalidation is published and deleted from the
  // stream before the replica thaws and re-reads from its last entry id. Only
  // its periodic check can bring it to the new revision.
  const lagging = replicas.at(-1);
  lagging.signal('SIGSTOP');
  const clients = (await redis.client('LIST')).split('\n');
  const reader = clients.find((line) => line.includes(` name=caracal-sts-${lagging.replicaId} `));
  if (!reader) throw new Error(`no stream connection of ${lagging.replicaId} in CLIENT LIST`);
  await redis.client('KILL', 'ID', /(?:^| )id=(\d+)/.exec(reader)[1]);
  const target = versions[(activationCount + 1) % 2];
  const missed = await activate(target);
  const entry = await waitFor(
    async () =>
      (await redis.xrevrange(invalidationStream, '+', '-', 'COUNT', 200)).find(([, fields]) =>
        fields.includes(missed.activationId),
      )?.[0],
    { timeoutMs: 30_000, intervalMs: 2, description: 'the invalidation to be published' },
  );
  await redis.xdel(invalidationStream, entry);
  lagging.signal('SIGCONT');
  const repaired = await untilDone(missed.activationId);
  const laggard = repaired.replicas.find((r) => r.replicaId === lagging.replicaId);
  const recoveryMs = Number(laggard.confirmedAtUnixMillis - missed.createdAtUnixMillis);

  log(
    `propagation over ${samples.length} activations: min=${samples[0]} p50=${percentile(samples, 50)} p90=${percentile(samples, 90)} p99=${percentile(samples, 99)} max=${samples.at(-1)} ms`,
  );
  log(
    `commit → published: p50=${percentile(dispatchMs, 50)} p99=${percentile(dispatchMs, 99)} ms; commit → first replica: p50=${percentile(firstReplicaMs, 50)} p99=${percentile(firstReplicaMs, 99)} ms`,
  );
  log(
    `missed message repaired by the periodic check after ${recoveryMs} ms (interval ${checkIntervalMs} ms)`,
  );
  log(
    `replicas=${replicaCount} propagation_p50_ms=${percentile(samples, 50)} propagation_p99_ms=${percentile(samples, 99)} missed_message_recovery_s=${(recoveryMs / 1000).toFixed(2)}`,
  );
} finally {
  await Promise.all(replicas.map((replica) => replica.stop()));
  for (const cleanup of cleanups.reverse()) await Promise.resolve(cleanup()).catch(() => undefined);
  await admin.close();
  await rm(dir, { recursive: true, force: true });
}
