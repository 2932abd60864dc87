import { ResourceExhaustedError } from '@caracal-deploy/errors';
import type { KeyedMessage, KeyedProducer } from '@caracal-deploy/kafka';

import {
  auditEvent,
  auditTopic,
  decisionLogJson,
  decisionLogTopic,
  type DecisionFacts,
} from './decision-events.js';

/** Hooks for metrics and logs. */
export interface PublisherEvents {
  onFlushed?(events: number, ms: number): void;
  onFlushFailed?(error: unknown, buffered: number): void;
  onRejected?(buffered: number): void;
}

/** Options of {@link DecisionEventPublisher}. */
export interface DecisionEventPublisherOptions {
  /** Sends audit events, and decision logs too unless {@link decisionLogProducer} is given. */
  readonly producer: Pick<KeyedProducer, 'sendKeyed'>;
  /**
   * A second producer for decision logs: both topics of a batch are then sent in
   * parallel (one round trip instead of two), each producer with one send in
   * flight, so one's failure handling never races the other's send. Without
   * it, audit events go first and decision logs after them.
   */
  readonly decisionLogProducer?: Pick<KeyedProducer, 'sendKeyed'>;
  /** Decisions held while Kafka is slow or down; past it, {@link DecisionEventPublisher.publish} refuses. */
  readonly capacity?: number;
  /** Decisions per send (default 500). */
  readonly batchSize?: number;
  /** Input fields masked in decision logs (dotted paths). */
  readonly maskedPaths?: readonly string[];
  readonly auditTopic?: string;
  readonly decisionLogTopic?: string;
  /** Retry delay after a failed send, doubling to `maxRetryMs` (defaults 100 ms and 5 s). */
  readonly retryMs?: number;
  readonly maxRetryMs?: number;
  readonly events?: PublisherEvents;
}

/**
 * Sends one audit event and one decision log per decision to Kafka (keyed by
 * zone, through the idempotent acks=all producer) from a bounded buffer. Nothing
 * is dropped silently: a failed send keeps its decisions buffered and retries
 * with backoff, in order; when the buffer is full, `publish` refuses with
 * `resource_exhausted` and counts it, so the caller can fail closed and alert.
 */
export class DecisionEventPublisher {
  private readonly buffer: DecisionFacts[] = [];
  private flushing: Promise<void> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private closed = false;
  /** Decisions refused because the buffer was full (a counter for alerting). */
  rejected = 0;

  constructor(private readonly options: DecisionEventPublisherOptions) {}

  /** Decisions waiting to be sent. */
  get buffered(): number {
    return this.buffer.length;
  }

  /**
   * Throws {@link ResourceExhaustedError} (and counts it) when the buffer has no
   * room: a caller checks before doing the work whose events it would publish,
   * so an overloaded replica refuses cheaply instead of evaluating and then refusing.
   */
  admit(): void {
    const capacity = this.options.capacity ?? 10_000;
    if (this.closed || this.buffer.length >= capacity) {
      this.rejected += 1;
      this.options.events?.onRejected?.(this.buffer.length);
      throw new ResourceExhaustedError(
        this.closed
          ? 'the decision event publisher is closed'
          : `${capacity} decisions are waiting for Kafka; refusing more`,
        { details: { capacity: String(capacity) } },
      );
    }
  }

  /**
   * Queues a decision's events and starts a send. Throws
   * {@link ResourceExhaustedError} when the buffer is full; never blocks.
   */
  publish(facts: DecisionFacts): void {
    this.admit();
    this.buffer.push(facts);
    if (!this.retryTimer) this.kick();
  }

  /** Resolves once everything buffered so far has been sent (or rejects on the next failure). */
  async flush(): Promise<void> {
    while (this.buffer.length > 0) {
      if (this.retryTimer) throw new Error('Kafka sends are failing; events stay buffered');
      this.kick();
      await this.flushing;
    }
  }

  /** Stops accepting events and tries once more to send what is buffered. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    await this.flushing;
    if (this.buffer.length > 0) await this.sendBatch().catch(() => undefined);
  }

  private kick(): void {
    this.flushing ??= this.drain().finally(() => (this.flushing = undefined));
  }

  private async drain(): Promise<void> {
    while (this.buffer.length > 0) {
      try {
        await this.sendBatch();
        this.failures = 0;
      } catch (error) {
        this.failures += 1;
        this.options.events?.onFlushFailed?.(error, this.buffer.length);
        if (this.closed) return;
        const delay = Math.min(
          this.options.maxRetryMs ?? 5_000,
          (this.options.retryMs ?? 100) * 2 ** (this.failures - 1),
        );
        this.retryTimer = setTimeout(() => {
          this.retryTimer = undefined;
          this.kick();
        }, delay);
        this.retryTimer.unref();
        return;
      }
    }
  }

  private async sendBatch(): Promise<void> {
    const batch = this.buffer.slice(0, this.options.batchSize ?? 500);
    const started = performance.now();
    const audit: KeyedMessage[] = batch.map((facts) => ({
      key: facts.zoneId,
      value: JSON.stringify(auditEvent(facts)),
    }));
    const logs: KeyedMessage[] = batch.map((facts) => ({
      key: facts.zoneId,
      value: decisionLogJson(facts, this.options.maskedPaths ?? []),
    }));
    const auditSend = () =>
      this.options.producer.sendKeyed(this.options.auditTopic ?? auditTopic, audit);
    const logTopic = this.options.decisionLogTopic ?? decisionLogTopic;
    // Delivery is at least once: when one send fails, the whole batch stays
    // buffered and both are sent again (same ids; consumers deduplicate by them).
    if (this.options.decisionLogProducer) {
      // Settled, not raced: a retry never starts while a send of the same records is in flight.
      const sent = await Promise.allSettled([
        auditSend(),
        this.options.decisionLogProducer.sendKeyed(logTopic, logs),
      ]);
      const failed = sent.find((outcome) => outcome.status === 'rejected');
      if (failed) throw failed.reason;
    } else {
      // Audit first: a decision with a log but no audit event would be the worse gap.
      await auditSend();
      await this.options.producer.sendKeyed(logTopic, logs);
    }
    // Only now do the decisions leave the buffer: a failure above keeps them for the retry.
    this.buffer.splice(0, batch.length);
    this.options.events?.onFlushed?.(batch.length, performance.now() - started);
  }
}
