// Test support shared by the coordinator's specs: real STS replica processes
// (apps/sts/dist/main.js) with the Admin API stood in for at its boundary
// (bundles, catalogs), real OPA-built signed bundles and their own Kafka topics.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { OpaCli } from '@caracal-deploy/opa';
import { readReplicaStatuses, replicaStatusKey } from '@caracal-deploy/redis';
import {
  FakeAdminApi,
  buildSignedBundle,
  writeEs256Key,
  type BuiltBundle,
} from '@caracal-deploy/stand-ins';
import { createTestTopic, infraSettings, waitFor, type TestTopic } from '@caracal-deploy/testing';
import type { Redis } from 'ioredis';

import { SpawnedSts } from './spawned-sts.js';

const settings = infraSettings();
const adminToken = 'coordinator-test-token';
const keyId = 'bundle-coordinator-test';

/** Options of one replica of {@link StsFleet.start}. */
export interface ReplicaOptions {
  readonly replicaId: string;
  readonly region: string;
  readonly zoneId: string;
  /** Further zones the same replica serves. */
  readonly moreZones?: readonly string[];
  readonly coordinatorAddress: string;
  readonly redisUrl?: string;
  /** Periodic binding check; long by default so only invalidations explain a switch. */
  readonly checkIntervalMs?: number;
}

/** Bundles, an Admin API stand-in and the STS processes a test started. */
export class StsFleet {
  private readonly replicas: { sts: SpawnedSts; zones: readonly string[]; redisUrl: string }[] = [];
  private readonly bundlesByName = new Map<string, BuiltBundle>();
  private adminUrl = '';

  private constructor(
    private readonly dir: string,
    private readonly keyPath: string,
    private readonly admin: FakeAdminApi,
    private readonly topics: readonly TestTopic[],
  ) {}

  /** Builds one signed bundle per name (each allowing a different scope set) and starts the stand-in. */
  static async create(names: readonly string[]): Promise<StsFleet> {
    const dir = await mkdtemp(join(tmpdir(), 'coordinator-fleet-'));
    const keyPath = await writeEs256Key(dir, 'bundle.pem');
    const topics = [
      await createTestTopic(settings.kafkaBrokers),
      await createTestTopic(settings.kafkaBrokers),
    ];
    const fleet = new StsFleet(dir, keyPath, new FakeAdminApi(adminToken), topics);
    const opa = new OpaCli({ bin: settings.opaBin });
    for (const [index, name] of names.entries()) {
      const scopes = ['read', 'write', 'admin', 'audit'].slice(0, (index % 4) + 1);
      const bundle = await buildSignedBundle(opa, dir, name, [...scopes, name], {
        keyPath,
        keyId,
      });
      fleet.bundlesByName.set(name, bundle);
      fleet.admin.bundles.set(bundle.bundleSha256, bundle.bytes);
    }
    fleet.adminUrl = await fleet.admin.listen();
    return fleet;
  }

  /** The bundle built under `name`. */
  bundle(name: string): BuiltBundle {
    const bundle = this.bundlesByName.get(name);
    if (!bundle) throw new Error(`no bundle named ${name}`);
    return bundle;
  }

  /** Starts one STS replica process for `zoneId` and waits for its first status report. */
  async start(options: ReplicaOptions, redis: Redis): Promise<SpawnedSts> {
    const zones = [options.zoneId, ...(options.moreZones ?? [])];
    for (const zone of zones)
      this.admin.catalogs.set(zone, [
        { identifier: 'resource://orders', id: 'res-orders', scopes: ['read'], operations: [] },
      ]);
    const redisUrl = options.redisUrl ?? settings.redisUrl;
    const sts = SpawnedSts.start(options.replicaId, {
      CARACAL_STS_REGION: options.region,
      CARACAL_STS_ZONES: zones.join(','),
      CARACAL_STS_HTTP_PORT: '0',
      CARACAL_STS_GRPC_ADDRESS: '127.0.0.1:0',
      CARACAL_STS_METRICS_PORT: '0',
      CARACAL_STS_SIGNING_KEY_FILE: join(this.dir, `${options.replicaId}-signing.pem`),
      CARACAL_STS_SUBJECT_KEY_FILE: join(this.dir, 'subject.pem'),
      CARACAL_BUNDLE_PUBLIC_KEY_FILE: this.keyPath,
      CARACAL_BUNDLE_SIGNING_KEY_ID: keyId,
      CARACAL_ADMIN_API_URL: this.adminUrl,
      CARACAL_STS_ADMIN_API_TOKEN: adminToken,
      CARACAL_COORDINATOR_GRPC_ADDRESS: options.coordinatorAddress,
      CARACAL_REDIS_URL: redisUrl,
      CARACAL_STS_POLICY_CHECK_INTERVAL_MS: String(options.checkIntervalMs ?? 600_000),
      CARACAL_KAFKA_BROKERS: settings.kafkaBrokers.join(','),
      CARACAL_AUDIT_TOPIC: this.topics[0]!.topic,
      CARACAL_DECISION_LOG_TOPIC: this.topics[1]!.topic,
    });
    this.replicas.push({ sts, zones, redisUrl });
    for (const zone of zones)
      await waitFor(
        async () =>
          (await readReplicaStatuses(redis, zone)).some(
            (status) => status.replicaId === options.replicaId,
          )
            ? true
            : undefined,
        {
          timeoutMs: 60_000,
          intervalMs: 50,
          description: `STS replica ${options.replicaId} to report for ${zone}`,
        },
      );
    return sts;
  }

  /** Stops every replica (removing their reports from the shared Redis) and the stand-in. */
  async close(redis?: Redis): Promise<void> {
    await Promise.all(this.replicas.map(({ sts }) => sts.stop()));
    for (const { sts, zones, redisUrl } of this.replicas)
      if (redis && redisUrl === settings.redisUrl)
        for (const zone of zones) await redis.del(replicaStatusKey(zone, sts.replicaId));
    await Promise.all(this.topics.map((topic) => topic.delete()));
    await this.admin.close();
    await rm(this.dir, { recursive: true, force: true });
  }
}
