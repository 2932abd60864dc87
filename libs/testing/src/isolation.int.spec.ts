import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { Client } from 'pg';

import {
  assertReachable,
  createRedisNamespace,
  createTestDatabase,
  createTestTopic,
  infraSettings,
} from './index.js';

const settings = infraSettings();

describe('createTestDatabase', () => {
  before(() => assertReachable('postgres', settings));

  it('creates a connectable database and drops it even while a session is open', async () => {
    const database = await createTestDatabase(settings);
    const session = new Client({ connectionString: database.url });
    // The forced drop below kills this session; that is the point of the test.
    session.on('error', () => undefined);
    await session.connect();
    const { rows } = await session.query<{ name: string }>('select current_database() as name');
    assert.equal(rows[0]?.name, database.name);

    await database.drop();
    const admin = new Client({ connectionString: settings.postgresUrl });
    await admin.connect();
    try {
      const left = await admin.query('select 1 from pg_database where datname = $1', [
        database.name,
      ]);
      assert.equal(left.rowCount, 0);
    } finally {
      await admin.end();
      await session.end().catch(() => undefined);
    }
  });
});

describe('createTestTopic', () => {
  const admin = new Kafka({
    clientId: 'testing-int',
    brokers: [...settings.kafkaBrokers],
    logLevel: logLevel.NOTHING,
  }).admin();
  before(async () => {
    await assertReachable('kafka', settings);
    await admin.connect();
  });
  after(() => admin.disconnect());

  it('creates a topic with the requested partitions, all led, and deletes it', async () => {
    const { topic, delete: deleteTopic } = await createTestTopic(settings.kafkaBrokers, {
      partitions: 3,
    });
    const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
    const partitions = metadata.topics[0]?.partitions ?? [];
    assert.equal(partitions.length, 3);
    for (const partition of partitions) assert.ok(partition.leader >= 0, 'partition has a leader');

    await deleteTopic();
    assert.ok(!(await admin.listTopics()).includes(topic));
  });
});

describe('createRedisNamespace', () => {
  const redis = new Redis(settings.redisUrl, { lazyConnect: true });
  before(async () => {
    await assertReachable('redis', settings);
    await redis.connect();
  });
  after(() => redis.quit());

  it('cleans up every key under its prefix and nothing else', async () => {
    const mine = await createRedisNamespace(settings.redisUrl);
    const other = await createRedisNamespace(settings.redisUrl);
    assert.notEqual(mine.prefix, other.prefix);
    // More keys than one SCAN page, so cleanup has to follow the cursor.
    const keys = Array.from({ length: 1_200 }, (_, i) => mine.key(`k${i}`));
    await redis.mset(...keys.flatMap((key) => [key, 'v']));
    await redis.xadd(mine.key('stream'), '*', 'f', 'v');
    await redis.set(other.key('survivor'), 'v');

    assert.equal(await mine.cleanup(), 1_201);
    assert.equal(await redis.exists(...keys, mine.key('stream')), 0);
    assert.equal(await redis.get(other.key('survivor')), 'v');
    assert.equal(await other.cleanup(), 1);
  });
});
