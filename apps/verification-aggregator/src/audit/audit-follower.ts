import { randomUUID } from 'node:crypto';

import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { createKafka } from '@caracal-deploy/kafka';
import type { Admin, Consumer, Kafka } from 'kafkajs';

import { VERIFIER_CONFIG, type VerifierConfig } from '../config/verifier.config.js';
import { ProbeJoin } from '../probes/probe-join.js';
import { VerifierMetrics } from '../verdict/verifier-metrics.js';
import { parseAuditEvent } from './audit-event.js';

/** How long to wait before trying again when the consumer could not start. */
const restartDelayMs = 2_000;

/**
 * Follows the audit topic and offers every audit event to the {@link ProbeJoin}.
 * Every aggregator replica must see every event (any replica may hold the
 * report that needs it), so each process consumes with its own consumer group,
 * created at start with its offsets set to the lookback point (no committed
 * history to resume, nothing shared) and deleted at shutdown.
 */
@Injectable()
export class AuditFollower implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('AuditFollower');
  private readonly kafka: Kafka;
  private readonly groupId = `caracal-verification-aggregator-${randomUUID()}`;
  private consumer: Consumer | undefined;
  private stopped = false;
  private joined = false;
  private lastError: string | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  /** Admin clients in use, cut at shutdown so no lookup keeps retrying after it. */
  private readonly admins = new Set<Admin>();

  constructor(
    @Inject(VERIFIER_CONFIG) private readonly config: VerifierConfig,
    private readonly join: ProbeJoin,
    private readonly metrics: VerifierMetrics,
  ) {
    this.kafka = createKafka({
      brokers: config.kafkaBrokers,
      clientId: 'caracal-verification-aggregator',
    });
  }

  onApplicationBootstrap(): void {
    // Kafka being down must not keep the service from serving verdicts and
    // health: the follower keeps trying in the background and health says why.
    void this.start();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    for (const admin of this.admins) await admin.disconnect().catch(() => undefined);
    await this.consumer?.disconnect().catch(() => undefined);
    await this.withAdmin((admin) => admin.deleteGroups([this.groupId])).catch(() => undefined);
  }

  /** True while the consumer is in its group and fetching the audit topic. */
  get following(): boolean {
    return this.joined;
  }

  /** Health: the consumer joined its group and is fetching. */
  check(): Promise<string> {
    if (this.joined) return Promise.resolve(`following ${this.config.auditTopic}`);
    return Promise.reject(
      new Error(
        `not following ${this.config.auditTopic} yet${this.lastError ? `: ${this.lastError}` : ''}`,
      ),
    );
  }

  private async start(): Promise<void> {
    if (this.stopped) return;
    try {
      await this.positionGroup();
      const consumer = this.kafka.consumer({
        groupId: this.groupId,
        allowAutoTopicCreation: false,
        maxWaitTimeInMs: 100,
      });
      this.consumer = consumer;
      consumer.on(consumer.events.GROUP_JOIN, () => {
        this.joined = true;
        this.lastError = undefined;
      });
      consumer.on(consumer.events.CRASH, (event) => {
        this.joined = false;
        this.lastError = String(event.payload.error);
        this.logger.warn(`audit consumer crashed: ${this.lastError}`);
        // kafkajs restarts by itself after retriable errors; otherwise start over.
        if (!event.payload.restart) this.retry();
      });
      await consumer.connect();
      await consumer.subscribe({ topic: this.config.auditTopic, fromBeginning: false });
      await consumer.run({
        eachBatch: async ({ batch }) => {
          for (const message of batch.messages) {
            this.metrics.auditEventRead();
            const audit = parseAuditEvent(message.value);
            if (audit) this.join.offer(audit);
          }
          await Promise.resolve();
        },
      });
      this.logger.log(`following ${this.config.auditTopic} as ${this.groupId}`);
    } catch (error) {
      this.lastError = error instanceof Error ? error.message : String(error);
      this.logger.warn(`cannot follow ${this.config.auditTopic}: ${this.lastError}`);
      this.retry();
    }
  }

  private retry(): void {
    if (this.stopped) return;
    const consumer = this.consumer;
    this.consumer = undefined;
    this.joined = false;
    void consumer?.disconnect().catch(() => undefined);
    this.retryTimer = setTimeout(() => void this.start(), restartDelayMs);
  }

  /**
   * Commits the group's start offsets before it joins: the first record at or
   * after the lookback point, or the end of the log where there is none. A
   * restarted process thus still sees events written while it was down.
   */
  private async positionGroup(): Promise<void> {
    const topic = this.config.auditTopic;
    await this.withAdmin(async (admin) => {
      // Asked first: offset lookups on a missing topic retry for a long time.
      if (!(await admin.listTopics()).includes(topic)) {
        throw new Error(`Kafka topic ${JSON.stringify(topic)} does not exist`);
      }
      const ends = await admin.fetchTopicOffsets(topic);
      const starts = await admin.fetchTopicOffsetsByTimestamp(
        topic,
        Date.now() - this.config.auditLookbackMs,
      );
      await admin.setOffsets({
        groupId: this.groupId,
        topic,
        partitions: ends.map(({ partition, high }) => {
          const start = starts.find((s) => s.partition === partition)?.offset ?? high;
          return { partition, offset: BigInt(start) < 0n ? high : start };
        }),
      });
    });
  }

  private async withAdmin<T>(work: (admin: Admin) => Promise<T>): Promise<T> {
    const admin = this.kafka.admin();
    this.admins.add(admin);
    try {
      await admin.connect();
      return await work(admin);
    } finally {
      this.admins.delete(admin);
      await admin.disconnect();
    }
  }
}
