import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import {
  assertReachable,
  createTestTopic,
  infraSettings,
  uniqueName,
  waitFor,
  type TestTopic,
} from '@caracal-deploy/testing';
import { logLevel, type Consumer } from 'kafkajs';

import { KeyedProducer, createKafka, type KeyedMessage } from './index.js';

const settings = infraSettings();

describe('KeyedProducer against Kafka', () => {
  const kafka = createKafka({ brokers: settings.kafkaBrokers, clientId: 'kafka-int' });
  let topic: TestTopic;
  let producer: KeyedProducer;
  let consumer: Consumer | undefined;

  before(async () => {
    await assertReachable('kafka', settings);
    topic = await createTestTopic(settings.kafkaBrokers, { partitions: 3 });
    producer = new KeyedProducer(kafka);
  });
  after(async () => {
    await consumer?.disconnect();
    await producer.disconnect();
    await topic.delete();
  });

  it('delivers keyed records exactly once, with their keys, in order per key', async () => {
    const keys = ['zone-a', 'zone-b', 'zone-c', 'zone-d'];
    // Interleaved keys over several sends, so per-key order is not just send order of a batch.
    const batches: KeyedMessage[][] = [0, 1, 2, 3, 4].map((round) =>
      keys.map((key) => ({
        key,
        value: JSON.stringify({ key, seq: round }),
        headers: { 'x-round': String(round) },
      })),
    );
    for (const batch of batches) {
      const metadata = await producer.sendKeyed(topic.topic, batch);
      assert.ok(metadata.length > 0);
      for (const record of metadata) assert.equal(record.errorCode, 0);
    }
    const sent = batches.flat();

    const received: { key: string; value: string; round: string; partition: number }[] = [];
    consumer = kafka.consumer({ groupId: uniqueName('kafka_int') });
    await consumer.connect();
    await consumer.subscribe({ topic: topic.topic, fromBeginning: true });
    await consumer.run({
      eachMessage: ({ message, partition }) => {
        received.push({
          key: message.key?.toString() ?? '<null>',
          value: message.value?.toString() ?? '<null>',
          round: message.headers?.['x-round']?.toString() ?? '<none>',
          partition,
        });
        return Promise.resolve();
      },
    });
    await waitFor(() => (received.length >= sent.length ? true : undefined), {
      timeoutMs: 60_000,
      description: `the consumer to receive ${sent.length} records`,
    });

    // Exactly the records sent: the log holds no duplicates from retries.
    const admin = kafka.admin();
    await admin.connect();
    const offsets = await admin.fetchTopicOffsets(topic.topic).finally(() => admin.disconnect());
    const logged = offsets.reduce((sum, partition) => sum + Number(partition.high), 0);
    assert.equal(logged, sent.length);
    assert.equal(received.length, sent.length);

    for (const key of keys) {
      const ofKey = received.filter((record) => record.key === key);
      assert.deepEqual(
        ofKey.map((record) => record.value),
        [0, 1, 2, 3, 4].map((seq) => JSON.stringify({ key, seq })),
        `records of ${key} arrive in send order`,
      );
      assert.deepEqual(
        ofKey.map((record) => record.round),
        ['0', '1', '2', '3', '4'],
      );
      assert.equal(
        new Set(ofKey.map((record) => record.partition)).size,
        1,
        `${key} stays on one partition`,
      );
    }
  });

  it('rejects instead of hanging when no broker is reachable', async () => {
    const unreachable = createKafka({
      brokers: ['127.0.0.1:1'],
      clientId: 'kafka-int-unreachable',
      connectionTimeout: 500,
      retry: { retries: 1, initialRetryTime: 50, maxRetryTime: 100 },
      logLevel: logLevel.NOTHING,
    });
    const lonely = new KeyedProducer(unreachable);
    try {
      await assert.rejects(
        lonely.sendKeyed(topic.topic, [{ key: 'zone-a', value: 'lost?' }]),
        (error: unknown) => {
          assert.ok(error instanceof Error);
          assert.match(error.message, /ECONNREFUSED|Connection error/);
          return true;
        },
      );
    } finally {
      await lonely.disconnect();
    }
  });
});
