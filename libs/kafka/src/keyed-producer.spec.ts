import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { InvalidArgumentError } from '@caracal-deploy/errors';

import { KeyedProducer, createKafka, producerDefaults, sendDefaults } from './index.js';

// Nothing listens on port 1: any attempt to reach a broker would fail, so these
// tests also prove validation happens before any network I/O.
const kafka = createKafka({ brokers: ['127.0.0.1:1'], clientId: 'unit', retry: { retries: 1 } });

describe('producer defaults', () => {
  it('are idempotent, acks=all, ≤ 5 in flight, no topic auto-creation', () => {
    assert.equal(producerDefaults.idempotent, true);
    assert.equal(sendDefaults.acks, -1);
    assert.ok(producerDefaults.maxInFlightRequests <= 5);
    assert.equal(producerDefaults.allowAutoTopicCreation, false);
  });
});

describe('KeyedProducer', () => {
  it('refuses more than 5 in-flight requests', () => {
    assert.throws(
      () => new KeyedProducer(kafka, { maxInFlightRequests: 6 }),
      (error: unknown) =>
        error instanceof InvalidArgumentError &&
        error.violations[0]?.field === 'maxInFlightRequests',
    );
  });

  it('rejects records without a key, naming each one, before touching the network', async () => {
    const producer = new KeyedProducer(kafka);
    await assert.rejects(
      producer.sendKeyed('caracal.audit.events', [
        { key: 'zone-a', value: '1' },
        { key: '', value: '2' },
        { key: undefined as unknown as string, value: '3' },
      ]),
      (error: unknown) => {
        assert.ok(error instanceof InvalidArgumentError);
        assert.deepEqual(
          error.violations.map((violation) => violation.field),
          ['messages[1].key', 'messages[2].key'],
        );
        return true;
      },
    );
  });

  it('rejects an empty topic name', async () => {
    await assert.rejects(
      new KeyedProducer(kafka).sendKeyed('', [{ key: 'k', value: 'v' }]),
      (error: unknown) =>
        error instanceof InvalidArgumentError && error.violations[0]?.field === 'topic',
    );
  });
});

describe('KeyedProducer after a failed send', () => {
  it('rejects with the cause and continues on a fresh producer (new producer id)', async () => {
    const failure = new Error('request timed out');
    const made: { disconnected: boolean; sends: number }[] = [];
    const fakeKafka = {
      producer: () => {
        const state = { disconnected: false, sends: 0 };
        made.push(state);
        const first = made.length === 1;
        return {
          connect: () => Promise.resolve(),
          disconnect: () => {
            state.disconnected = true;
            return Promise.resolve();
          },
          send: () => {
            state.sends += 1;
            return first
              ? Promise.reject(failure)
              : Promise.resolve([{ topicName: 't', partition: 0, errorCode: 0 }]);
          },
        };
      },
    } as unknown as ConstructorParameters<typeof KeyedProducer>[0];

    const producer = new KeyedProducer(fakeKafka);
    await assert.rejects(producer.sendKeyed('t', [{ key: 'k', value: 'v' }]), failure);
    assert.equal(made.length, 2, 'a replacement producer was created');
    assert.equal(made[0]?.disconnected, true, 'the failed producer was closed');

    const metadata = await producer.sendKeyed('t', [{ key: 'k', value: 'v' }]);
    assert.equal(metadata[0]?.errorCode, 0);
    assert.deepEqual(
      made.map((state) => state.sends),
      [1, 1],
    );
  });
});
