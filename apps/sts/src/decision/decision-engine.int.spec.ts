import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { type Socket, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { DecisionEventPublisher } from '@caracal-deploy/decision-events';
import { ZonePolicyRuntime } from '@caracal-deploy/decision-runtime';
import { ResourceExhaustedError } from '@caracal-deploy/errors';
import { KeyedProducer, readTopicRange } from '@caracal-deploy/kafka';
import { OpaCli, readBundle } from '@caracal-deploy/opa';
import { buildSignedBundle, writeEs256Key } from '@caracal-deploy/stand-ins';
import {
  assertReachable,
  createTestTopic,
  freePort,
  infraSettings,
  waitFor,
  type TestTopic,
} from '@caracal-deploy/testing';
import { Kafka, logLevel, type ISocketFactory } from 'kafkajs';
import { Registry } from 'prom-client';

import { StsMetrics } from '../metrics/sts-metrics.js';
import { decideOverHttp } from './decide-request.js';
import { DecisionEngine } from './decision-engine.js';

const settings = infraSettings();

/**
 * The network between the STS and the real Kafka, which the test can cut: every
 * broker connection goes through it; `cut()` destroys the open ones and makes
 * new ones go to a port nobody listens on (connection refused), `restore()`
 * lets connections through again. The broker itself is never touched.
 */
class CuttableNetwork {
  private readonly sockets = new Set<Socket>();
  private down = false;

  constructor(private readonly deadPort: number) {}

  readonly socketFactory: ISocketFactory = ({ host, port, onConnect }) => {
    const socket = this.down
      ? connect({ host: '127.0.0.1', port: this.deadPort }, onConnect)
      : connect({ host, port }, onConnect);
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    return socket;
  };

  cut(): void {
    this.down = true;
    // As the client sees a reset connection: an error on every open socket.
    for (const socket of this.sockets) socket.destroy(new Error('connection reset (network cut)'));
  }

  restore(): void {
    this.down = false;
  }
}

const readIds = async (kafka: Kafka, topic: string, field: string) => {
  const ids: string[] = [];
  for await (const message of readTopicRange(kafka, { topic })) {
    ids.push(
      (JSON.parse(message.value?.toString('utf8') ?? '{}') as Record<string, string>)[field]!,
    );
  }
  return ids;
};

// The engine with everything real behind it: an OPA-built bundle evaluated by
// opa-wasm, the audit publisher on the idempotent producer, and the real Kafka
// behind a network the test cuts mid-run.
describe('DecisionEngine through a Kafka outage', () => {
  const zone = 'zone-kafka-outage';
  const capacity = 40;
  let dir: string;
  let auditTopic: TestTopic;
  let logTopic: TestTopic;
  let network: CuttableNetwork;
  let producers: KeyedProducer[] = [];
  let publisher: DecisionEventPublisher;
  let engine: DecisionEngine;
  let metrics: StsMetrics;
  let registry: Registry;
  const flushFailures: number[] = [];

  const input = (seq: number) => ({
    schema_version: '2026-05-20',
    principal: { type: 'User', id: `user-${seq}`, zone_id: zone },
    resource: { type: 'http', id: 'res-orders', identifier: 'resource://orders', scopes: [] },
    action: { id: 'GET /orders', method: 'GET', path: '/orders' },
    context: { actor_claims: {}, challenge_resolved: false, requested_scopes: ['read'] },
  });

  before(async () => {
    await assertReachable('kafka', settings);
    await assertReachable('opa', settings);
    dir = await mkdtemp(join(tmpdir(), 'sts-kafka-outage-'));
    const keyPath = await writeEs256Key(dir, 'bundle.pem');
    const bundle = await buildSignedBundle(
      new OpaCli({ bin: settings.opaBin }),
      dir,
      'v1',
      ['read'],
      { keyPath, keyId: 'k' },
    );
    const runtime = new ZonePolicyRuntime({
      zoneId: zone,
      source: { fetch: () => Promise.resolve(bundle.bytes) },
      verify: (bytes) => ({ revision: readBundle(bytes).manifest.revision }),
    });
    assert.equal((await runtime.apply(bundle)).kind, 'loaded');
    const runtimes = new Map([[zone, runtime]]);
    auditTopic = await createTestTopic(settings.kafkaBrokers);
    logTopic = await createTestTopic(settings.kafkaBrokers);
    network = new CuttableNetwork(await freePort());
    const kafka = new Kafka({
      brokers: [...settings.kafkaBrokers],
      clientId: 'sts-kafka-outage',
      socketFactory: network.socketFactory,
      connectionTimeout: 1_000,
      requestTimeout: 5_000,
      retry: { retries: 1, initialRetryTime: 50, maxRetryTime: 100 },
      logLevel: logLevel.NOTHING,
    });
    // As the STS wires it: one producer per topic, both sent in parallel.
    producers = [new KeyedProducer(kafka), new KeyedProducer(kafka)];
    publisher = new DecisionEventPublisher({
      producer: producers[0]!,
      decisionLogProducer: producers[1]!,
      capacity,
      batchSize: 16,
      retryMs: 20,
      maxRetryMs: 200,
      auditTopic: auditTopic.topic,
      decisionLogTopic: logTopic.topic,
      events: { onFlushFailed: (_error, buffered) => flushFailures.push(buffered) },
    });
    registry = new Registry();
    metrics = new StsMetrics(registry, runtimes);
    metrics.observeAuditBuffer(() => publisher.buffered);
    engine = new DecisionEngine({ runtimes, publisher, metrics });
  });

  after(async () => {
    network?.restore();
    await publisher?.close();
    await Promise.all(producers.map((p) => p.disconnect()));
    await Promise.all([auditTopic?.delete(), logTopic?.delete()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('buffers while Kafka is unreachable, then refuses (counted), and delivers every accepted decision once it is back', async () => {
    const accepted: string[] = [];
    const decide = (seq: number) =>
      engine.decide({
        zoneId: zone,
        requestId: `req-${seq}`,
        eventType: 'gateway.decide',
        input: input(seq),
      }).decisionId;

    // Kafka reachable: decisions flow out.
    for (let seq = 0; seq < 10; seq += 1) accepted.push(decide(seq));
    await publisher.flush();

    network.cut();
    // Kafka unreachable: the buffer takes decisions up to its capacity, and the
    // sends keep failing and are retried (nothing leaves the buffer).
    for (let seq = 10; seq < 10 + capacity; seq += 1) accepted.push(decide(seq));
    await waitFor(() => (flushFailures.length >= 2 ? true : undefined), {
      timeoutMs: 30_000,
      intervalMs: 20,
      description: 'sends to fail while the network is cut',
    });
    assert.equal(publisher.buffered, capacity, 'every decision taken during the outage is held');
    const bufferedGauge = async () =>
      (await registry.getSingleMetric('caracal_sts_audit_buffered')!.get()).values[0]?.value;
    assert.equal(await bufferedGauge(), capacity, 'the fill level is exported for alerting');

    // Full: backpressure, not loss. The engine refuses, the HTTP decision answers
    // 503 with retry-after, and each refusal is counted for alerting.
    let refused = 0;
    for (let seq = 0; seq < 5; seq += 1) {
      assert.throws(() => decide(1_000 + seq), ResourceExhaustedError);
      refused += 1;
    }
    const overHttp = decideOverHttp(
      engine,
      { zone_id: zone, input: input(2_000) },
      'req-http',
      () => assert.fail('a full buffer is not an internal error'),
    );
    assert.equal(overHttp.status, 503);
    assert.equal(overHttp.headers?.['retry-after'], '1');
    refused += 1;
    assert.equal((await metrics.auditRejected.get()).values[0]?.value, refused);
    assert.equal(publisher.rejected, refused);
    assert.equal(publisher.buffered, capacity, 'a refused decision takes no buffer space');

    network.restore();
    await waitFor(() => (publisher.buffered === 0 ? true : undefined), {
      timeoutMs: 60_000,
      intervalMs: 50,
      description: 'the buffered decisions to reach Kafka once the network is back',
    });
    assert.equal(await bufferedGauge(), 0);

    // Consumed back: every accepted decision has its audit event and its
    // decision log, and no refused decision left any record.
    const kafka = new Kafka({
      brokers: [...settings.kafkaBrokers],
      clientId: 'sts-kafka-outage-reader',
      logLevel: logLevel.NOTHING,
    });
    const audits = await readIds(kafka, auditTopic.topic, 'id');
    const logs = await readIds(kafka, logTopic.topic, 'decision_id');
    assert.deepEqual(new Set(audits), new Set(accepted));
    assert.deepEqual(new Set(logs), new Set(accepted));
  });
});
