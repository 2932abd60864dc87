import {
  Kafka,
  Partitioners,
  logLevel as kafkaLogLevel,
  type KafkaConfig,
  type ProducerConfig,
} from 'kafkajs';

import { jsonLogCreator } from './kafka-logger.js';

/** Connection settings for {@link createKafka}; everything but `brokers` and `clientId` is optional. */
export interface KafkaClientOptions {
  /** Bootstrap brokers as `host:port`. */
  readonly brokers: readonly string[];
  /** Identifies this service in broker logs and quotas. */
  readonly clientId: string;
  /** TCP connect timeout per broker, ms; defaults to 3000. */
  readonly connectionTimeout?: number;
  /** Timeout of one request, ms; defaults to 30000. */
  readonly requestTimeout?: number;
  /** Client-wide retry policy; defaults to {@link clientRetryDefaults}. */
  readonly retry?: KafkaConfig['retry'];
  /** kafkajs log level; defaults to WARN. */
  readonly logLevel?: kafkaLogLevel;
}

/**
 * Client-wide retries: bounded, so a broker outage surfaces as a rejected call the
 * caller can buffer and count (DESIGN invariant 7) instead of an endless retry loop.
 */
export const clientRetryDefaults = {
  retries: 8,
  initialRetryTime: 100,
  maxRetryTime: 5_000,
} as const;

/**
 * The project's producer settings: idempotent, so broker-side retries never
 * duplicate or reorder a partition; at most 5 requests in flight, the limit under
 * which Kafka guarantees ordering for idempotent producers; the Java-compatible
 * murmur2 partitioner, so a zone lands on the same partition as from any other client;
 * and no topic auto-creation, so a typo fails instead of writing into a new topic.
 */
export const producerDefaults = {
  idempotent: true,
  maxInFlightRequests: 5,
  allowAutoTopicCreation: false,
  createPartitioner: Partitioners.DefaultPartitioner,
} as const satisfies ProducerConfig;

/** Per-send settings: acks from all in-sync replicas (required by idempotence), 30 s broker timeout. */
export const sendDefaults = {
  acks: -1,
  timeout: 30_000,
} as const;

/** Builds a kafkajs client with the project's timeouts, bounded retries and log level. */
export function createKafka(options: KafkaClientOptions): Kafka {
  return new Kafka({
    brokers: [...options.brokers],
    clientId: options.clientId,
    connectionTimeout: options.connectionTimeout ?? 3_000,
    requestTimeout: options.requestTimeout ?? 30_000,
    retry: options.retry ?? clientRetryDefaults,
    logLevel: options.logLevel ?? kafkaLogLevel.WARN,
    logCreator: jsonLogCreator,
  });
}
