import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { assertReachable, infraSettings, uniqueName, waitFor } from '@caracal-deploy/testing';
import type { Redis } from 'ioredis';

import { createRedis, readReplicaStatuses, replicaStatusKey, writeReplicaStatus } from './index.js';

const settings = infraSettings();

describe('replica status in Redis', () => {
  let redis: Redis;
  const zone = uniqueName('zone');

  before(async () => {
    await assertReachable('redis', settings);
    redis = await createRedis(settings.redisUrl);
  });
  after(async () => {
    await redis.del(replicaStatusKey(zone, 'sts-a'), replicaStatusKey(zone, 'sts-b'));
    redis.disconnect();
  });

  it('round-trips every replica of a zone and forgets one that stops reporting', async () => {
    const loadedAt = new Date('2026-11-28T01:00:00.000Z');
    await writeReplicaStatus(
      redis,
      {
        zoneId: zone,
        replicaId: 'sts-b',
        region: 'eu',
        revision: 'r1',
        loadedAt,
        confirmedAt: loadedAt,
        reportedAt: loadedAt,
      },
      60,
    );
    await writeReplicaStatus(
      redis,
      {
        zoneId: zone,
        replicaId: 'sts-a',
        region: 'us',
        revision: null,
        loadedAt: null,
        confirmedAt: null,
        reportedAt: loadedAt,
      },
      1,
    );
    await writeReplicaStatus(
      redis,
      {
        zoneId: `${zone}x`,
        replicaId: 'other-zone',
        region: 'us',
        revision: 'r9',
        loadedAt,
        confirmedAt: loadedAt,
        reportedAt: loadedAt,
      },
      1,
    );

    const statuses = await readReplicaStatuses(redis, zone);
    assert.deepEqual(
      statuses.map((s) => [s.replicaId, s.region, s.revision, s.loadedAt?.toISOString() ?? null]),
      [
        ['sts-a', 'us', null, null],
        ['sts-b', 'eu', 'r1', '2026-11-28T01:00:00.000Z'],
      ],
    );
    // sts-a's heartbeat TTL is 1 s: once it lapses, only sts-b is live.
    await waitFor(
      async () => ((await readReplicaStatuses(redis, zone)).length === 1 ? true : undefined),
      {
        timeoutMs: 5_000,
        intervalMs: 100,
        description: 'the expired replica status to disappear',
      },
    );
  });
});
