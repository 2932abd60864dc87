import assert from 'node:assert/strict';

import {
  type ActivationService,
  ActivationState,
  ActivationTrigger,
} from '@caracal-deploy/contracts';
import type { GrpcClient } from '@caracal-deploy/grpc';
import { createRedis } from '@caracal-deploy/redis';
import {
  assertReachable,
  createTestDatabase,
  infraSettings,
  uniqueName,
  type InfraComponent,
  type TestDatabase,
} from '@caracal-deploy/testing';
import type { Redis } from 'ioredis';

import { RegistryFixtures, migrateRegistry, type SeededVersion } from './registry-fixtures.js';
import { StsFleet } from './sts-fleet.test-support.js';

/** A zone name of this run (zones are shared in Redis, so names must not collide). */
export const zoneName = (prefix: string) => uniqueName(prefix).replaceAll('_', '-');

/** What a coordinator suite runs against: a fresh registry, Redis, and an STS fleet with bundles. */
export interface RegistryHarness {
  readonly fleet: StsFleet;
  readonly database: TestDatabase;
  readonly registry: RegistryFixtures;
  readonly redis: Redis;
  /** Seeds a version in `zone` whose manifest and bundle are the fleet's bundle `name`. */
  seedBundle(zone: string, name: string): Promise<SeededVersion>;
  /**
   * Seeds one version with passing expected cases per fleet bundle, in the zone
   * `zoneOf` names for it; returns them by bundle name.
   */
  seedBundles(zoneOf: (bundle: string) => string): Promise<Map<string, SeededVersion>>;
  /** Starts one fleet replica in each of eu and us, both serving `zones` (bindings checked every second). */
  startRegionReplicas(zones: readonly string[], coordinatorAddress: string): Promise<void>;
  /** Stops the fleet and drops the database. */
  close(): Promise<void>;
}

/**
 * Checks `components` are reachable, then builds `bundles` for a new STS fleet
 * and creates a database with admin-api's registry schema.
 */
export async function startRegistryHarness(
  bundles: readonly string[],
  components: readonly InfraComponent[],
): Promise<RegistryHarness> {
  const settings = infraSettings();
  for (const component of components) await assertReachable(component, settings);
  const fleet = await StsFleet.create(bundles);
  let database: TestDatabase | undefined;
  let registry: RegistryFixtures | undefined;
  let redis: Redis | undefined;
  const close = async () => {
    await fleet.close(redis);
    await registry?.close();
    redis?.disconnect();
    await database?.drop();
  };
  try {
    database = await createTestDatabase(settings);
    await migrateRegistry(database.url);
    registry = await new RegistryFixtures(database.url).connect();
    redis = await createRedis(settings.redisUrl);
  } catch (error) {
    await close();
    throw error;
  }
  const seeded = { fleet, database, registry, redis };
  const seedBundle = (zone: string, name: string) =>
    seeded.registry.version(zone, {
      manifestSha256: fleet.bundle(name).revision,
      bundleSha256: fleet.bundle(name).bundleSha256,
    });
  return {
    ...seeded,
    seedBundle,
    async seedBundles(zoneOf) {
      const versions = new Map<string, SeededVersion>();
      for (const name of bundles) {
        const version = await seedBundle(zoneOf(name), name);
        await seeded.registry.expectedCases(version);
        versions.set(name, version);
      }
      return versions;
    },
    async startRegionReplicas(zones, coordinatorAddress) {
      for (const region of ['eu', 'us']) {
        await fleet.start(
          {
            replicaId: zoneName(`sts_${region}`),
            region,
            zoneId: zones[0]!,
            moreZones: zones.slice(1),
            coordinatorAddress,
            checkIntervalMs: 1_000,
          },
          seeded.redis,
        );
      }
    },
    close,
  };
}

/** Activates `seeded` by hand (expecting `expected` active) and asserts it converged. */
export async function activateAndConverge(
  activations: GrpcClient<typeof ActivationService>,
  seeded: SeededVersion,
  expected: string,
  reason: string,
): Promise<void> {
  const { activation } = await activations.activate({
    zoneId: seeded.zoneId,
    policySetVersionId: seeded.versionId,
    expectedActiveVersionId: expected,
    idempotencyKey: uniqueName('setup'),
    reason,
    actor: 'tester',
    trigger: ActivationTrigger.MANUAL,
  });
  let state;
  for await (const message of activations.watchActivation(
    { activationId: activation!.activationId },
    { timeoutMs: 60_000 },
  ))
    state = message.status?.state;
  assert.equal(state, ActivationState.CONVERGED);
}
