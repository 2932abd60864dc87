import { Worker } from 'node:worker_threads';

import { errorFromCode, type ErrorCode, type FieldViolation } from '@caracal-deploy/errors';
import type { KafkaClientOptions, KeyedMessage, KeyedProducer } from '@caracal-deploy/kafka';
import type { RecordMetadata } from 'kafkajs';

/** A request to the producer worker. */
export type WorkerRequest =
  | {
      readonly id: number;
      readonly kind: 'send';
      readonly topic: string;
      /** The records as parallel arrays: plain string arrays cross threads cheaper than objects. */
      readonly keys: readonly string[];
      readonly values: readonly (string | Buffer | null)[];
    }
  | { readonly id: number; readonly kind: 'disconnect' };

/** The worker's answer to one request. */
export type WorkerReply =
  | { readonly id: number; readonly ok: true; readonly metadata: RecordMetadata[] }
  | {
      readonly id: number;
      readonly ok: false;
      readonly name: string;
      readonly message: string;
      /** Set when the worker threw one of the closed set of errors. */
      readonly code?: ErrorCode;
      readonly violations?: FieldViolation[];
      readonly details?: Record<string, string>;
    };

/** A send that failed in the producer worker (not with a DeployError), with the worker's error name and message. */
export class ProducerWorkerError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

interface Pending {
  resolve(metadata: RecordMetadata[]): void;
  reject(error: Error): void;
}

/**
 * A {@link KeyedProducer} running on a worker thread of its own: record
 * encoding, checksums, partitioning and socket I/O of kafkajs leave the
 * caller's event loop, which keeps deciding meanwhile. The contract is the
 * KeyedProducer's: idempotent, acks=all, and every failure rejects the returned
 * promise (a worker that dies rejects what it held and is replaced on the next send).
 */
export class ThreadedKeyedProducer implements Pick<KeyedProducer, 'sendKeyed' | 'disconnect'> {
  private current: { worker: Worker; pending: Map<number, Pending> } | undefined;
  private nextId = 0;

  constructor(private readonly options: KafkaClientOptions) {}

  /** Sends `messages` (without headers) to `topic` from the worker; resolves with the broker's record metadata. */
  sendKeyed(topic: string, messages: readonly KeyedMessage[]): Promise<RecordMetadata[]> {
    if (messages.some((message) => message.headers !== undefined)) {
      return Promise.reject(new Error('ThreadedKeyedProducer sends no record headers'));
    }
    return this.request({
      id: this.nextId++,
      kind: 'send',
      topic,
      keys: messages.map((message) => message.key),
      values: messages.map((message) => message.value),
    });
  }

  /**
   * Disconnects the producer and ends the worker. Bounded: a producer that does
   * not finish disconnecting within `timeoutMs` (e.g. still retrying an
   * unreachable broker) is ended with its worker.
   */
  async disconnect(timeoutMs = 2_000): Promise<void> {
    const current = this.current;
    if (!current) return;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.request({ id: this.nextId++, kind: 'disconnect' }).catch(() => undefined),
        new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs))),
      ]);
    } finally {
      clearTimeout(timer);
      if (this.current === current) this.current = undefined;
      await current.worker.terminate();
    }
  }

  private request(request: WorkerRequest): Promise<RecordMetadata[]> {
    const { worker, pending } = this.current ?? this.start();
    // A request in flight keeps the process alive until its answer; an idle
    // worker never does (see start()).
    if (pending.size === 0) worker.ref();
    const settled = () => {
      if (pending.size === 0) worker.unref();
    };
    return new Promise<RecordMetadata[]>((resolve, reject) => {
      pending.set(request.id, { resolve, reject });
      worker.postMessage(request);
    }).finally(settled);
  }

  private start(): { worker: Worker; pending: Map<number, Pending> } {
    const worker = new Worker(new URL('./producer.worker.js', import.meta.url), {
      workerData: this.options,
    });
    const pending = new Map<number, Pending>();
    const current = { worker, pending };
    worker.on('message', (reply: WorkerReply) => {
      const waiting = pending.get(reply.id);
      if (!waiting) return;
      pending.delete(reply.id);
      if (reply.ok) waiting.resolve(reply.metadata);
      // The closed set of errors crosses as itself (e.g. invalid_argument with its
      // violations); anything else as a ProducerWorkerError with its name and message.
      else if (reply.code) {
        waiting.reject(
          errorFromCode(reply.code, reply.message, {
            violations: reply.violations ?? [],
            details: reply.details ?? {},
          }),
        );
      } else waiting.reject(new ProducerWorkerError(reply.name, reply.message));
    });
    // A dead worker fails what it held; the next send starts a fresh one.
    const fail = (error: Error) => {
      if (this.current === current) this.current = undefined;
      for (const waiting of pending.values()) waiting.reject(error);
      pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the Kafka producer worker exited with ${code}`)));
    // The owner's lifecycle decides when the worker ends (disconnect); idle, it
    // never keeps a process alive. Only after the listeners: adding a 'message'
    // listener refs the worker's port again.
    worker.unref();
    this.current = current;
    return current;
  }
}
