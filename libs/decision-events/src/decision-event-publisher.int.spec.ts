import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ResourceExhaustedError } from '@caracal-deploy/errors';
import { KeyedProducer, createKafka, readTopicRange } from '@caracal-deploy/kafka';
import { assertReachable, infraSettings, uniqueName, waitFor } from '@caracal-deploy/testing';

import { DecisionEventPublisher, type DecisionFacts } from './index.js';

const settings = infraSettings();

const facts = (i: number, zoneId = 'zone-1'): DecisionFacts => ({
  decisionId: `dec-${i}`,
  requestId: `req-${i}`,
  zoneId,
  eventType: 'token.exchange',
  decision: i % 2 === 0 ? 'allow' : 'deny',
  evaluationStatus: 'complete',
  revision: 'a'.repeat(64),
  input: { context: { requested_scopes: ['read'] }, seq: i },
  result: {
    decision: i % 2 === 0 ? 'allow' : 'deny',
    evaluation_status: 'complete',
    determining_policies: [],
    diagnostics: [],
  },
  occurredAt: new Date(),
});

describe('DecisionEventPublisher against real Kafka', () => {
  const kafka = createKafka({ brokers: settings.kafkaBrokers, clientId: 'decision-events-int' });
  const admin = kafka.admin();
  const producer = new KeyedProducer(kafka);
  const topics: string[] = [];

  const names = () => {
    const audit = uniqueName('audit');
    const log = uniqueName('decisions');
    topics.push(audit, log);
    return { audit, log };
  };
  const create = (...created: string[]) =>
    admin.createTopics({
      waitForLeaders: true,
      topics: created.map((topic) => ({ topic, numPartitions: 2 })),
    });
  const readAll = async (topic: string) => {
    const values: { key: string; value: Record<string, unknown> }[] = [];
    for await (const message of readTopicRange(kafka, { topic })) {
      values.push({
        key: message.key?.toString() ?? '',
        value: JSON.parse(message.value?.toString() ?? '{}') as Record<string, unknown>,
      });
    }
    return values;
  };

  before(async () => {
    await assertReachable('kafka', settings);
    await admin.connect();
  });
  after(async () => {
    await producer.disconnect();
    const existing = await admin.listTopics();
    await admin.deleteTopics({ topics: topics.filter((topic) => existing.includes(topic)) });
    await admin.disconnect();
  });

  it('sends one audit event and one decision log per decision, keyed by zone', async () => {
    const { audit, log } = names();
    await create(audit, log);
    const publisher = new DecisionEventPublisher({
      producer,
      auditTopic: audit,
      decisionLogTopic: log,
      batchSize: 7,
    });
    for (let i = 0; i < 40; i += 1) publisher.publish(facts(i, i % 4 === 0 ? 'zone-2' : 'zone-1'));
    await publisher.flush();
    const [audits, logs] = [await readAll(audit), await readAll(log)];
    assert.equal(audits.length, 40);
    assert.equal(logs.length, 40);
    assert.deepEqual(
      new Set(audits.map((a) => a.value['id'])),
      new Set(Array.from({ length: 40 }, (_, i) => `dec-${i}`)),
    );
    assert.ok(audits.every((a) => a.key === a.value['zone_id']));
    // Within a zone (one partition), decisions keep their order.
    const zone1 = logs
      .filter((l) => l.key === 'zone-1')
      .map((l) => (l.value['input'] as { seq: number }).seq);
    assert.deepEqual(
      zone1,
      [...zone1].sort((a, b) => a - b),
    );
  });

  it('buffers through a Kafka failure, refuses past capacity, and delivers everything once Kafka accepts again', async () => {
    const { audit, log } = names();
    const failures: number[] = [];
    // A client that gives up on a missing topic quickly, so the failure shows in a second.
    const impatient = new KeyedProducer(
      createKafka({
        brokers: settings.kafkaBrokers,
        clientId: 'decision-events-int-impatient',
        retry: { retries: 1, initialRetryTime: 50, maxRetryTime: 100 },
      }),
    );
    const publisher = new DecisionEventPublisher({
      producer: impatient,
      auditTopic: audit,
      decisionLogTopic: log,
      capacity: 25,
      retryMs: 20,
      maxRetryMs: 200,
      events: { onFlushFailed: (_error, buffered) => failures.push(buffered) },
    });
    // The topics do not exist yet and the producer never auto-creates: every send fails.
    for (let i = 0; i < 25; i += 1) publisher.publish(facts(i));
    await waitFor(() => (failures.length > 0 ? true : undefined), {
      timeoutMs: 30_000,
      intervalMs: 20,
      description: 'a failed send',
    });
    assert.throws(() => publisher.publish(facts(25)), ResourceExhaustedError);
    assert.equal(publisher.rejected, 1);
    assert.equal(publisher.buffered, 25, 'nothing was dropped while Kafka refused');

    await create(audit, log);
    await waitFor(() => (publisher.buffered === 0 ? true : undefined), {
      timeoutMs: 30_000,
      intervalMs: 50,
      description: 'the buffered decisions to be delivered after the topics exist',
    });
    const logs = await readAll(log);
    assert.deepEqual(
      logs.map((l) => l.value['decision_id']),
      Array.from({ length: 25 }, (_, i) => `dec-${i}`),
    );
    assert.ok((await readAll(audit)).length >= 25);
    await publisher.close();
    await impatient.disconnect();
  });
});
