import { Kafka, logLevel, type Admin } from 'kafkajs';

import { infraSettings } from './infra-settings.js';
import { infraUnavailable } from './reachability.js';
import { uniqueName } from './unique-name.js';

/** A Kafka topic created for one test; `delete()` removes it. */
export interface TestTopic {
  /** Topic name. */
  readonly topic: string;
  /** Deletes the topic. */
  readonly delete: () => Promise<void>;
}

/** Shape of the topic {@link createTestTopic} creates. */
export interface TestTopicOptions {
  /** Number of partitions; defaults to 1. */
  readonly partitions?: number;
}

/**
 * Creates a topic with a unique name and waits until every partition has a leader,
 * so producing right after this resolves does not race topic creation.
 */
export async function createTestTopic(
  kafkaBrokers: readonly string[] = infraSettings().kafkaBrokers,
  options: TestTopicOptions = {},
): Promise<TestTopic> {
  const topic = uniqueName('caracal_test');
  await withAdmin(kafkaBrokers, async (admin) => {
    await admin.createTopics({
      waitForLeaders: true,
      topics: [{ topic, numPartitions: options.partitions ?? 1 }],
    });
  });
  return {
    topic,
    delete: () => withAdmin(kafkaBrokers, (admin) => admin.deleteTopics({ topics: [topic] })),
  };
}

async function withAdmin(
  brokers: readonly string[],
  work: (admin: Admin) => Promise<void>,
): Promise<void> {
  const admin = new Kafka({
    clientId: 'caracal-testing-admin',
    brokers: [...brokers],
    connectionTimeout: 5_000,
    // A busy broker can take seconds to report a new topic's leaders: keep asking.
    retry: { retries: 8 },
    logLevel: logLevel.NOTHING,
  }).admin();
  try {
    await admin.connect();
  } catch (error) {
    await admin.disconnect();
    throw infraUnavailable('kafka', brokers.join(','), error);
  }
  try {
    await work(admin);
  } finally {
    await admin.disconnect();
  }
}

/** JSON messages of some topics, read from their beginning while a test runs. */
export interface TopicReader {
  /** The messages of `topic` read so far, oldest first: one array that grows as more arrive. */
  messages(topic: string): Record<string, unknown>[];
  /** Stops reading. */
  close(): Promise<void>;
}

/** Starts reading `topics` from their beginning in a consumer group of its own. */
export async function readJsonTopics(
  brokers: readonly string[],
  topics: readonly string[],
): Promise<TopicReader> {
  const received = new Map(topics.map((topic) => [topic, [] as Record<string, unknown>[]]));
  const consumer = new Kafka({
    brokers: [...brokers],
    clientId: 'test-topic-reader',
    logLevel: logLevel.NOTHING,
  }).consumer({ groupId: uniqueName('test_reader') });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [...topics], fromBeginning: true });
    await consumer.run({
      eachMessage: ({ topic, message }) => {
        received
          .get(topic)
          ?.push(JSON.parse(message.value?.toString('utf8') ?? 'null') as Record<string, unknown>);
        return Promise.resolve();
      },
    });
  } catch (error) {
    await consumer.disconnect();
    throw error;
  }
  return {
    messages: (topic) => received.get(topic) ?? [],
    close: () => consumer.disconnect(),
  };
}
