// The worker side of ThreadedKeyedProducer: owns one KeyedProducer and sends
// what the owning thread posts, answering each request by id.
import { parentPort, workerData } from 'node:worker_threads';

import { DeployError } from '@caracal-deploy/errors';
import { KeyedProducer, createKafka, type KafkaClientOptions } from '@caracal-deploy/kafka';

import type { WorkerReply, WorkerRequest } from './threaded-keyed-producer.js';

const port = parentPort;
if (!port) throw new Error('producer.worker runs only as a worker thread');
const producer = new KeyedProducer(createKafka(workerData as KafkaClientOptions));

port.on('message', (request: WorkerRequest) => {
  const work =
    request.kind === 'send'
      ? producer.sendKeyed(
          request.topic,
          request.keys.map((key, i) => ({ key, value: request.values[i] ?? null })),
        )
      : producer.disconnect().then(() => []);
  work.then(
    (metadata) => port.postMessage({ id: request.id, ok: true, metadata } satisfies WorkerReply),
    (error: unknown) =>
      port.postMessage({
        id: request.id,
        ok: false,
        name: error instanceof Error ? error.name : 'Error',
        message: error instanceof Error ? error.message : String(error),
        ...(error instanceof DeployError
          ? { code: error.code, violations: [...error.violations], details: { ...error.details } }
          : {}),
      } satisfies WorkerReply),
  );
});
