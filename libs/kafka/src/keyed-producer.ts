import { InvalidArgumentError, type FieldViolation } from '@caracal-deploy/errors';
import type { IHeaders, Kafka, Producer, ProducerConfig, RecordMetadata } from 'kafkajs';

import { producerDefaults, sendDefaults } from './kafka.options.js';

/** One record for {@link KeyedProducer.sendKeyed}; the key (e.g. a zone id) picks the partition. */
export interface KeyedMessage {
  /** Partitioning key; records with the same key stay in order. Must be non-empty. */
  readonly key: string;
  /** Payload; `null` is a tombstone. */
  readonly value: string | Buffer | null;
  /** Optional record headers. */
  readonly headers?: IHeaders;
}

/** Producer overrides; idempotence cannot be turned off and in-flight requests stay ≤ 5. */
export type KeyedProducerOptions = Omit<ProducerConfig, 'idempotent' | 'transactionalId'>;

/**
 * An idempotent producer that only sends keyed records with acks=all. Every failure
 * rejects the returned promise: nothing is dropped silently, so callers can buffer,
 * count and alert.
 */
export class KeyedProducer {
  private readonly config: ProducerConfig;
  private producer: Producer;
  private connecting: Promise<void> | undefined;

  constructor(
    private readonly kafka: Pick<Kafka, 'producer'>,
    options: KeyedProducerOptions = {},
  ) {
    const maxInFlightRequests = options.maxInFlightRequests ?? producerDefaults.maxInFlightRequests;
    if (maxInFlightRequests < 1 || maxInFlightRequests > 5) {
      throw new InvalidArgumentError('invalid producer options', {
        violations: [
          {
            field: 'maxInFlightRequests',
            problem: `must be 1..5 for an idempotent producer to keep per-partition order, got ${maxInFlightRequests}`,
          },
        ],
      });
    }
    this.config = { ...producerDefaults, ...options, maxInFlightRequests, idempotent: true };
    this.producer = kafka.producer(this.config);
  }

  /** Connects (once; concurrent callers share the attempt, a failed attempt can be retried). */
  connect(): Promise<void> {
    this.connecting ??= this.producer.connect().catch((error: unknown) => {
      this.connecting = undefined;
      throw error;
    });
    return this.connecting;
  }

  /**
   * Sends `messages` to `topic` with acks=all, connecting first if needed, and resolves
   * with the broker's record metadata once every replica in sync has them; rejects otherwise.
   */
  async sendKeyed(topic: string, messages: readonly KeyedMessage[]): Promise<RecordMetadata[]> {
    const violations = validate(topic, messages);
    if (violations.length > 0) {
      throw new InvalidArgumentError(`cannot send to Kafka topic ${JSON.stringify(topic)}`, {
        violations,
      });
    }
    if (messages.length === 0) return [];
    await this.connect();
    const producer = this.producer;
    try {
      return await producer.send({
        ...sendDefaults,
        topic,
        messages: messages.map(({ key, value, headers }) => ({ key, value, headers })),
      });
    } catch (error) {
      this.replace(producer);
      throw error;
    }
  }

  /** Closes the connections; sends are awaited by their callers, so there is nothing to flush. */
  async disconnect(): Promise<void> {
    this.connecting = undefined;
    await this.producer.disconnect();
  }

  // kafkajs rolls a partition's sequence number back when a send fails. If the failed
  // batch did reach the broker (only the response was lost), the next batch would reuse
  // its sequence and the broker would ack it as a duplicate without writing it: a silent
  // drop. A fresh producer gets a new producer id, so its sequences cannot collide.
  private replace(failed: Producer): void {
    if (this.producer !== failed) return;
    this.producer = this.kafka.producer(this.config);
    this.connecting = undefined;
    failed.disconnect().catch(() => undefined);
  }
}

function validate(topic: string, messages: readonly KeyedMessage[]): FieldViolation[] {
  const violations: FieldViolation[] = [];
  if (topic.length === 0) violations.push({ field: 'topic', problem: 'required, got ""' });
  messages.forEach((message, index) => {
    if (typeof message.key !== 'string' || message.key.length === 0) {
      violations.push({
        field: `messages[${index}].key`,
        problem: `a non-empty key is required so records of one key keep their order, got ${JSON.stringify(message.key)}`,
      });
    }
  });
  return violations;
}
