import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { InvalidArgumentError } from '@caracal-deploy/errors';
import { createKafka, readTopicRange } from '@caracal-deploy/kafka';
import {
  assertReachable,
  createTestTopic,
  infraSettings,
  type TestTopic,
} from '@caracal-deploy/testing';

import { ProducerWorkerError, ThreadedKeyedProducer } from './index.js';

const settings = infraSettings();

describe('ThreadedKeyedProducer against real Kafka', () => {
  let topic: TestTopic;

  before(async () => {
    await assertReachable('kafka', settings);
    topic = await createTestTopic(settings.kafkaBrokers, { partitions: 2 });
  });
  after(() => topic?.delete());

  it('sends keyed records from its worker thread, in order per key, and disconnects', async () => {
    const producer = new ThreadedKeyedProducer({
      brokers: settings.kafkaBrokers,
      clientId: 'threaded-producer-int',
    });
    try {
      for (let round = 0; round < 3; round += 1) {
        const metadata = await producer.sendKeyed(
          topic.topic,
          ['zone-a', 'zone-b'].map((key) => ({ key, value: JSON.stringify({ key, round }) })),
        );
        assert.ok(metadata.every((record) => record.errorCode === 0));
      }
    } finally {
      await producer.disconnect();
    }
    const kafka = createKafka({ brokers: settings.kafkaBrokers, clientId: 'threaded-int-read' });
    const read: { key: string; round: number }[] = [];
    for await (const message of readTopicRange(kafka, { topic: topic.topic })) {
      read.push(
        JSON.parse(message.value?.toString('utf8') ?? '{}') as { key: string; round: number },
      );
    }
    for (const key of ['zone-a', 'zone-b']) {
      assert.deepEqual(
        read.filter((r) => r.key === key).map((r) => r.round),
        [0, 1, 2],
      );
    }
  });

  it('rejects with the worker-side error when Kafka is unreachable, and sends again after', async () => {
    const producer = new ThreadedKeyedProducer({
      brokers: ['127.0.0.1:1'],
      clientId: 'threaded-producer-int-unreachable',
      connectionTimeout: 500,
      retry: { retries: 1, initialRetryTime: 50, maxRetryTime: 100 },
      logLevel: 0,
    });
    try {
      await assert.rejects(
        producer.sendKeyed(topic.topic, [{ key: 'zone-a', value: 'lost?' }]),
        (error: unknown) => {
          assert.ok(error instanceof ProducerWorkerError);
          assert.match(error.message, /ECONNREFUSED|Connection error/);
          return true;
        },
      );
      // The worker survives a failed send: the next one is tried (and fails the same way).
      await assert.rejects(producer.sendKeyed(topic.topic, [{ key: 'zone-a', value: 'again' }]));
      await assert.rejects(
        producer.sendKeyed(topic.topic, [{ key: '', value: 'no key' }]),
        (error: unknown) => {
          assert.ok(error instanceof InvalidArgumentError);
          assert.match(error.violations[0]!.problem, /non-empty key/);
          return true;
        },
      );
    } finally {
      await producer.disconnect().catch(() => undefined);
    }
  });

  it('never keeps a process alive on its own, even when its owner forgets to disconnect', () => {
    // A process that starts the worker (one send) and then has nothing left to do must exit.
    const script = `
      const { ThreadedKeyedProducer } = await import(${JSON.stringify(new URL('./index.js', import.meta.url).href)});
      const producer = new ThreadedKeyedProducer({ brokers: ${JSON.stringify(settings.kafkaBrokers)}, clientId: 'threaded-unref' });
      await producer.sendKeyed(${JSON.stringify(topic.topic)}, [{ key: 'k', value: 'v' }]);
      console.log('sent');
    `;
    const dir = mkdtempSync(join(tmpdir(), 'threaded-unref-'));
    const file = join(dir, 'forgets-to-disconnect.mjs');
    writeFileSync(file, script);
    // Without the test runner's context, the child is a plain program.
    const { NODE_TEST_CONTEXT: _context, ...env } = process.env;
    const run = spawnSync(process.execPath, [file], { encoding: 'utf8', timeout: 60_000, env });
    rmSync(dir, { recursive: true, force: true });
    assert.equal(run.signal, null, `the process had to be killed: ${run.stderr}`);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /sent/);
  });
});
