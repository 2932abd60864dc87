import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { NotFoundError, UnavailableError } from '@caracal-deploy/errors';
import {
  assertReachable,
  createTestTopic,
  infraSettings,
  type TestTopic,
} from '@caracal-deploy/testing';

import { createKafka, readTopicRange, readTopicRangeBatches, type RangeMessage } from './index.js';

const settings = infraSettings();

async function collect(messages: AsyncIterable<RangeMessage>): Promise<RangeMessage[]> {
  const seen: RangeMessage[] = [];
  for await (const message of messages) seen.push(message);
  return seen;
}

async function collectBatches(
  batches: AsyncIterable<readonly RangeMessage[]>,
): Promise<(readonly RangeMessage[])[]> {
  const seen: (readonly RangeMessage[])[] = [];
  for await (const batch of batches) seen.push(batch);
  return seen;
}

describe('readTopicRange against Kafka', () => {
  const kafka = createKafka({ brokers: settings.kafkaBrokers, clientId: 'range-int' });
  // Within the broker's retention (24 h): older record timestamps are deleted by its
  // retention check, which can run in the middle of a test.
  const base = Math.floor(Date.now() / 60_000) * 60_000 - 3 * 60 * 60_000;
  const total = 60;
  let topic: TestTopic;

  before(async () => {
    await assertReachable('kafka', settings);
    topic = await createTestTopic(settings.kafkaBrokers, { partitions: 3 });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    // One record a minute, spread over all 3 partitions, with explicit record timestamps.
    await producer.send({
      topic: topic.topic,
      acks: -1,
      messages: Array.from({ length: total }, (_, i) => ({
        key: `zone-${i % 3}`,
        partition: i % 3,
        value: JSON.stringify({ seq: i }),
        timestamp: String(base + i * 60_000),
      })),
    });
    await producer.disconnect();
  });
  after(() => topic.delete());

  const seqs = (messages: RangeMessage[]) =>
    messages
      .map((m) => (JSON.parse(m.value?.toString() ?? '{}') as { seq: number }).seq)
      .sort((a, b) => a - b);

  it('reads every record once, across partitions, and ends at the log end', async () => {
    const messages = await collect(readTopicRange(kafka, { topic: topic.topic, bufferSize: 4 }));
    assert.deepEqual(
      seqs(messages),
      Array.from({ length: total }, (_, i) => i),
    );
    assert.equal(new Set(messages.map((m) => m.partition)).size, 3);
  });

  it('seeks by time and stops at the upper time bound', async () => {
    const messages = await collect(
      readTopicRange(kafka, {
        topic: topic.topic,
        fromTimestampMs: base + 20 * 60_000,
        toTimestampMs: base + 29 * 60_000,
      }),
    );
    assert.deepEqual(seqs(messages), [20, 21, 22, 23, 24, 25, 26, 27, 28, 29]);
    assert.ok(messages.every((m) => m.timestampMs >= base + 20 * 60_000));
  });

  it('stops after maxMessages', async () => {
    const messages = await collect(
      readTopicRange(kafka, { topic: topic.topic, maxMessages: 7, bufferSize: 2 }),
    );
    assert.equal(messages.length, 7);
  });

  it('a batch at a time: the same records, no empty batch, offsets rising per partition', async () => {
    const batches: (readonly RangeMessage[])[] = [];
    for await (const batch of readTopicRangeBatches(kafka, { topic: topic.topic, bufferSize: 8 }))
      batches.push(batch);
    assert.ok(batches.every((batch) => batch.length > 0));
    const messages = batches.flat();
    assert.deepEqual(
      seqs(messages),
      Array.from({ length: total }, (_, i) => i),
    );
    for (const partition of [0, 1, 2]) {
      const offsets = messages
        .filter((m) => m.partition === partition)
        .map((m) => Number(m.offset));
      assert.deepEqual(
        offsets,
        [...offsets].sort((a, b) => a - b),
      );
    }
    // A time window that starts and ends inside the fetched batches is cut to the record.
    const window = (
      await collectBatches(
        readTopicRangeBatches(kafka, {
          topic: topic.topic,
          fromTimestampMs: base + 31 * 60_000,
          toTimestampMs: base + 37 * 60_000,
        }),
      )
    ).flat();
    assert.deepEqual(seqs(window), [31, 32, 33, 34, 35, 36, 37]);
    // maxMessages cuts inside a batch.
    const first = (
      await collectBatches(readTopicRangeBatches(kafka, { topic: topic.topic, maxMessages: 11 }))
    ).flat();
    assert.equal(first.length, 11);
  });

  it('yields nothing for a window after the last record', async () => {
    const messages = await collect(
      readTopicRange(kafka, { topic: topic.topic, fromTimestampMs: base + total * 60_000 + 1 }),
    );
    assert.deepEqual(messages, []);
  });

  it('ends early when aborted', async () => {
    const controller = new AbortController();
    let count = 0;
    for await (const _message of readTopicRange(kafka, {
      topic: topic.topic,
      signal: controller.signal,
      bufferSize: 1,
    })) {
      count += 1;
      if (count === 3) controller.abort();
    }
    assert.ok(count >= 3 && count < total, `read ${count} records after aborting at 3`);
  });

  it('replaces a consumer that makes no progress, then fails unavailable after three', async () => {
    // 1 ms is shorter than any group join: every attempt stalls before its first record.
    await assert.rejects(
      collect(readTopicRange(kafka, { topic: topic.topic, stallTimeoutMs: 1 })),
      (error: unknown) =>
        error instanceof UnavailableError &&
        /made no progress for 1 ms with \d partitions unread, 3 times/.test(error.message),
    );
  });

  it('names a topic that does not exist', async () => {
    await assert.rejects(
      collect(readTopicRange(kafka, { topic: 'caracal.no.such.topic' })),
      NotFoundError,
    );
  });

  it('reports an unreachable broker as unavailable', async () => {
    const nowhere = createKafka({
      brokers: ['127.0.0.1:1'],
      clientId: 'range-int-down',
      connectionTimeout: 300,
      retry: { retries: 0 },
    });
    await assert.rejects(
      collect(readTopicRange(nowhere, { topic: topic.topic })),
      UnavailableError,
    );
  });
});
