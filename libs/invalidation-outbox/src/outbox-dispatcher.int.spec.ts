import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createDatabase, migrateToLatest } from '@caracal-deploy/postgres';
import { createRedis } from '@caracal-deploy/redis';
import {
  assertReachable,
  createTestDatabase,
  infraSettings,
  uniqueName,
  waitFor,
} from '@caracal-deploy/testing';
import type { Redis } from 'ioredis';

import {
  OutboxDispatcher,
  deadLetterStream,
  outboxMigration,
  type OutboxDatabase,
  type OutboxDispatcherOptions,
} from './index.js';

const settings = infraSettings();

const fields = (activationId: string) => ({
  zone_id: 'zone-1',
  policy_set_id: 'set-1',
  policy_set_version_id: 'v-1',
  manifest_sha256: 'a'.repeat(64),
  activation_id: activationId,
});

/** One isolated outbox (its own database) with the dispatchers a test starts. */
async function outbox(redis: Redis) {
  const database = await createTestDatabase(settings);
  const db = createDatabase<OutboxDatabase>(database.url);
  await migrateToLatest(db, { '0001_invalidation_outbox': outboxMigration });
  const dispatchers: OutboxDispatcher[] = [];
  const stream = uniqueName('invalidate');
  return {
    db,
    stream,
    dispatcher(extra: Partial<OutboxDispatcherOptions> = {}) {
      const created = new OutboxDispatcher({
        db,
        postgresUrl: database.url,
        redis,
        stream,
        pollIntervalMs: 60_000,
        ...extra,
      });
      dispatchers.push(created);
      return created;
    },
    enqueue: (activationId: string) =>
      db
        .insertInto('invalidation_outbox')
        .values({ zone_id: 'zone-1', fields: JSON.stringify(fields(activationId)) })
        .execute(),
    async close() {
      await Promise.all(dispatchers.map((d) => d.stop()));
      await db.destroy();
      await database.drop();
      await redis.del(stream, deadLetterStream(stream));
    },
  };
}

describe('OutboxDispatcher against real PostgreSQL and Redis', () => {
  let redis: Redis;

  before(async () => {
    await assertReachable('postgres', settings);
    await assertReachable('redis', settings);
    redis = await createRedis(settings.redisUrl);
  });
  after(() => redis.disconnect());

  it('publishes a committed row at once (NOTIFY) and records the stream id', async () => {
    const box = await outbox(redis);
    try {
      await box.dispatcher().start();
      await box.db.transaction().execute(async (tx) => {
        // The business change and the outbox row commit together.
        await tx
          .insertInto('invalidation_outbox')
          .values({ zone_id: 'zone-1', fields: JSON.stringify(fields('act-1')) })
          .execute();
      });
      const entries = await waitFor(
        async () => {
          const read = await redis.xrange(box.stream, '-', '+');
          return read.length > 0 ? read : undefined;
        },
        { timeoutMs: 5_000, intervalMs: 10, description: 'the outbox row to be published' },
      );
      assert.equal(entries.length, 1);
      const [streamId, flat] = entries[0]!;
      const published: Record<string, string> = {};
      for (let i = 0; i + 1 < flat.length; i += 2) published[flat[i]!] = flat[i + 1]!;
      assert.deepEqual(published, fields('act-1'));
      // The entry is visible in Redis a moment before the dispatcher's transaction records it.
      const row = await waitFor(
        async () => {
          const current = await box.db
            .selectFrom('invalidation_outbox')
            .selectAll()
            .executeTakeFirstOrThrow();
          return current.published_at ? current : undefined;
        },
        { timeoutMs: 5_000, intervalMs: 10, description: 'the publish to be recorded' },
      );
      assert.equal(row.stream_id, streamId);
    } finally {
      await box.close();
    }
  });

  it('publishes nothing for a rolled-back transaction', async () => {
    const box = await outbox(redis);
    try {
      await assert.rejects(
        box.db.transaction().execute(async (tx) => {
          await tx
            .insertInto('invalidation_outbox')
            .values({ zone_id: 'zone-1', fields: JSON.stringify(fields('act-x')) })
            .execute();
          throw new Error('the activation failed');
        }),
      );
      assert.equal(await box.dispatcher().dispatchOnce(), 0);
      assert.equal(await redis.xlen(box.stream), 0);
    } finally {
      await box.close();
    }
  });

  it('retries with backoff and dead-letters after the attempt bound', async () => {
    const box = await outbox(redis);
    try {
      // A key of the wrong type makes every XADD fail with a real Redis error.
      await redis.set(box.stream, 'not a stream');
      const dead: string[] = [];
      const retries: number[] = [];
      const d = box.dispatcher({
        maxAttempts: 3,
        retryBaseMs: 1,
        retryMaxMs: 5,
        events: {
          onRetry: (_id, attempt) => retries.push(attempt),
          onDeadLettered: (id) => dead.push(id),
        },
      });
      await box.enqueue('act-doomed');
      await d.start();
      await waitFor(() => (dead.length === 1 ? true : undefined), {
        timeoutMs: 10_000,
        intervalMs: 10,
        description: 'the row to be dead-lettered after 3 attempts',
      });
      assert.deepEqual(retries, [1, 2]);
      const letters = await redis.xrange(deadLetterStream(box.stream), '-', '+');
      assert.equal(letters.length, 1);
      assert.ok(letters[0]![1].some((value) => value.includes('WRONGTYPE')));
      const row = await box.db
        .selectFrom('invalidation_outbox')
        .selectAll()
        .executeTakeFirstOrThrow();
      assert.ok(row.dead_at);
      assert.equal(row.attempts, 3);
      assert.match(row.last_error ?? '', /WRONGTYPE/);
    } finally {
      await box.close();
    }
  });

  it('publishes each row exactly once with two dispatchers racing', async () => {
    const box = await outbox(redis);
    try {
      for (let i = 0; i < 150; i += 1) await box.enqueue(`act-race-${i}`);
      await Promise.all([
        box.dispatcher({ batchSize: 10 }).start(),
        box.dispatcher({ batchSize: 10 }).start(),
      ]);
      await waitFor(async () => ((await redis.xlen(box.stream)) >= 150 ? true : undefined), {
        timeoutMs: 10_000,
        intervalMs: 20,
        description: '150 rows to be published',
      });
      const entries = await redis.xrange(box.stream, '-', '+');
      const ids = entries.map(([, flat]) => flat[flat.indexOf('activation_id') + 1]);
      assert.equal(entries.length, 150);
      assert.equal(new Set(ids).size, 150);
    } finally {
      await box.close();
    }
  });
});
